"""Lookups: join another source of the tenant onto each row by key (``EntityMapping.lookups``).

A historic ERP export keeps a customer's region in a nation file and a product's unit cost in
a supplier price list. :func:`read_lookup_sources` reads such a source whole (every file of it,
through the same readers and confinement as landing) and :func:`join_lookups` joins it onto a
frame by key, exposing its columns as ``<lookup name>.<column>``. The lookup table must be small
enough to hold in memory (dimension-sized); its first row per key wins.
"""

from __future__ import annotations

import logging

import polars as pl

from tenantlake.landing.errors import SourceFileError
from tenantlake.tenants import EntityMapping, TenantConfig

log = logging.getLogger(__name__)

_ON = "__tl_lookup_on__"
_KEY = "__tl_lookup_key__"


def read_lookup_sources(tenant: TenantConfig, home, names: list[str]) -> dict[str, pl.DataFrame]:
    """Each named file source read whole (all its files, reserved reader columns dropped)."""
    from tenantlake.landing.sources.files import RESERVED, iter_file_units

    out: dict[str, pl.DataFrame] = {}
    for name in names:
        source = tenant.sources[name]
        frames = []
        for unit in iter_file_units(name, source, tenant, home):
            for _, frame in unit.frames():
                bad = frame.filter(pl.col(RESERVED[0]).is_not_null()) \
                    if RESERVED[0] in frame.columns else frame.clear()
                if bad.height:
                    raise SourceFileError(
                        f"tenant {tenant.id!r}, lookup source {name!r}: {unit.label} has "
                        f"{bad.height} unreadable row(s); a lookup must be read whole",
                        tenant_id=tenant.id, file=unit.label)
                frames.append(frame.select([c for c in frame.columns if c not in RESERVED]))
        out[name] = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        log.info("lookup source %s: %d rows tenant_id=%s", name, out[name].height, tenant.id)
    return out


def lookup_schema(mapping: EntityMapping, frames: dict[str, pl.DataFrame]) -> dict:
    """``<lookup>.<column>`` -> dtype for every column a lookup adds (its key excluded)."""
    out = {}
    for lname, lk in mapping.lookups.items():
        frame = frames.get(lk.source)
        if frame is None:
            continue
        for c, t in frame.schema.items():
            if c != lk.key:
                out[f"{lname}.{c}"] = t
    return out


def join_lookups(frame: pl.DataFrame, mapping: EntityMapping, frames: dict[str, pl.DataFrame],
                 resolve) -> pl.DataFrame:
    """``frame`` with every lookup's columns joined on (left join, row order and count kept).

    Keys are compared as trimmed text, so ``42`` in a CSV matches ``42`` in Parquet. A lookup
    whose ``by`` column or lookup table is absent adds nothing (the mapped columns are then
    reported missing, naming them)."""
    for lname, lk in mapping.lookups.items():
        table = frames.get(lk.source)
        on = resolve(lk.by, frame.schema)
        key = resolve(lk.key, table.schema) if table is not None else None
        if table is None or on is None or key is None:
            continue
        right = (table.with_columns(pl.col(key).cast(pl.String).str.strip_chars().alias(_KEY))
                 .unique(subset=[_KEY], keep="first", maintain_order=True)
                 .select([_KEY, *[pl.col(c).alias(f"{lname}.{c}") for c in table.columns
                                  if c != key]]))
        frame = (frame.with_columns(pl.col(on).cast(pl.String).str.strip_chars().alias(_ON))
                 .join(right, left_on=_ON, right_on=_KEY, how="left", maintain_order="left")
                 .drop(_ON))
    return frame
