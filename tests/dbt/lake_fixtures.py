"""Write small canonical Parquet files into a test lake, the way landing does.

Rows are plain dicts of contract columns; lineage columns are filled in and absent optional
columns become typed nulls (``tenantlake.contracts.arrow_schema``), so the files look exactly like
landed ones: ``lake/raw/<entity>/tenant=<id>/date=<d>/<batch>.parquet``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tenantlake.contracts import arrow_schema
from tenantlake.lake import atomic_write, lake_path, new_batch_id

_D = dt.date.fromisoformat


def _coerce(value: Any, typ: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_date32(typ) and isinstance(value, str):
        return _D(value)
    if pa.types.is_timestamp(typ) and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def write_rows(lake: Path, entity: str, tenant_id: str, rows: Iterable[Mapping[str, Any]],
               *, landed: str = "2026-01-10", ingested_at: dt.datetime | None = None,
               batch_id: str | None = None) -> Path:
    """Land ``rows`` of ``entity`` for ``tenant_id`` as one batch file; returns its path."""
    schema = arrow_schema(entity)
    batch_id = batch_id or new_batch_id()
    ingested_at = ingested_at or dt.datetime(2026, 1, 10, 6, 0)
    rows = list(rows)
    cols: dict[str, list] = {f.name: [] for f in schema}
    for i, row in enumerate(rows):
        unknown = set(row) - set(cols)
        if unknown:
            raise KeyError(f"{entity}: unknown column(s) {sorted(unknown)}")
        full = {"tenant_id": tenant_id, "_batch_id": batch_id, "_source_file": "fixture.csv",
                "_source_row": i + 1, "_ingested_at": ingested_at, **row}
        for f in schema:
            cols[f.name].append(_coerce(full.get(f.name), f.type))
    table = pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in schema}, schema=schema)
    target = lake_path(lake, "raw", entity, tenant_id, landed) / f"{batch_id}.parquet"
    with atomic_write(target) as tmp:
        pq.write_table(table, tmp)
    return target
