"""Map one source frame onto a canonical entity, coerce types and find the rows that break it.

An :class:`EntityPlan` is built once per (unit, entity, source schema) and then applied to every
frame of the unit, fully vectorised in polars (no Python loop over rows):

1. ``where`` keeps the rows that belong to the entity (the others are *not* part of the entity
   and are counted as ``rows_filtered``, never as lost or quarantined rows);
2. every canonical column is taken from a source column (``columns``, matched exactly, else
   ignoring case and surrounding blanks), a constant, or a compiled expression; ``value_maps``
   translate tenant codes; absent optional columns become typed nulls;
3. values are coerced to the contract type with the source's formats, separators and time zone
   (timestamps end up as UTC-naive);
4. row checks derived from the contract mark bad rows; the first failing check (in the order of
   :data:`RULE_ORDER`) becomes the row's ``_rule``/``_field``/``_reason`` in quarantine.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tenantlake.contracts import Column, get_contract, polars_schema
from tenantlake.landing.errors import LandingConfigError, SourceFileError
from tenantlake.landing.expressions import Compiler, ExpressionError, parse
from tenantlake.landing.sources.files import ERR_FIELD, ERR_MSG, ERR_RULE, ROW_COLUMN, _to_str
from tenantlake.tenants import EntityMapping, Source, TenantConfig

MAX_FIELD_CHARS = 10_000
FUTURE_SKEW = dt.timedelta(days=1)
TRUE_WORDS = ["true", "t", "yes", "y", "1", "x", "ja", "j", "oui", "si", "sí", "wahr", "on"]
FALSE_WORDS = ["false", "f", "no", "n", "0", "nein", "non", "falsch", "off"]
_BOOL_WORDS = {v: b for words, b in ((TRUE_WORDS, True), (FALSE_WORDS, False))
               for w in words for v in (w, w.upper(), w.capitalize())}
RULE_ORDER = ("malformed_row", "invalid_encoding", "missing_required_column", "field_too_long",
              "control_characters", "unmapped_code", "type", "required", "allowed_values",
              "min_value", "max_value", "pattern",
              "not_future", "delivered_date_not_before_ship_date",
              "resolved_at_not_before_created_at", "conflicting_duplicate_key", "duplicate_key")
_NAIVE_TS_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M",
                     "%Y-%m-%d %H:%M")
_AWARE_TS_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
#: How far before a DST-gap wall time its pre-gap offset is probed (gaps are <= 2 hours).
_GAP_PROBE = dt.timedelta(hours=3)
_RAW = "__raw__"
_UNMAPPED = "__unmapped__"
_TOOLONG = "__toolong__"
_NUL = "__nul__"
DRIFT_PREFIX = "__drift__"
_DUP = "__dup__"
_BAD = "__bad__"


class KeyTracker:
    """Contract keys of one batch, spilled to disk, so duplicate detection costs no RAM per row.

    Every landed row's (key hash, source row) goes into :attr:`PARTITIONS` buffers by the key
    hash's top bits, appended to one temp file per partition when a buffer holds
    :attr:`FLUSH_BYTES` (so small units never touch the disk); once the unit was read, each
    partition is sorted on its own (:meth:`duplicated`), the values of the rows sharing a key
    are hashed, and :func:`resolve_duplicates` applies the mapping's ``duplicates`` policy:

    * an **exact copy** (same key, same values) of another row is dropped and counted, never
      quarantined: nothing is lost and nothing conflicts;
    * **conflicting** rows (same key, other values): ``reject_conflicts`` (default) quarantines
      every one of them (the platform cannot know which is right); ``first`` / ``last`` keep the
      earliest / latest and quarantine the others.

    Why not a set in memory: it grew with the file and the per-frame membership search was a
    third of the landing CPU; the spill is written sequentially and read once. Memory: the
    buffers (<= PARTITIONS x FLUSH_BYTES = 16 MB) plus one partition at the end (16 bytes x
    rows / PARTITIONS). A hash collision (about n^2 / 2^65, 2e-7 at 3 million keys) would
    wrongly treat two rows as duplicates (quarantined with a reason), never lose one silently.
    """

    _BITS = 6
    PARTITIONS = 1 << _BITS
    #: Bytes buffered per partition before an append (bounds memory, needs no open files).
    FLUSH_BYTES = 256 << 10
    _DTYPE = np.dtype([("h", "<u8"), ("r", "<i8")])

    def __init__(self) -> None:
        self._dir: str | None = None
        self._buf: list[list[np.ndarray]] = [[] for _ in range(self.PARTITIONS)]
        self._buffered = np.zeros(self.PARTITIONS, np.int64)

    def _path(self, i: int) -> str:
        return f"{self._dir}/{i:03d}.bin"

    def _flush(self, i: int) -> None:
        """Append partition ``i``'s buffer to its file (opened per append: a landing process
        may hold many batches at once, and 64 open files each would exhaust descriptors)."""
        if not self._buf[i]:
            return
        if self._dir is None:
            import tempfile

            self._dir = tempfile.mkdtemp(prefix="tenantlake-keys-")
        with open(self._path(i), "ab") as fh:
            for rec in self._buf[i]:
                rec.tofile(fh)
        self._buf[i], self._buffered[i] = [], 0

    def add(self, keys: pl.Series, rows: pl.Series) -> None:
        """Remember landed rows: key hash and source row number."""
        if len(keys) == 0:
            return
        h = keys.to_numpy()
        rec = np.empty(len(h), self._DTYPE)
        rec["h"], rec["r"] = h, rows.to_numpy()
        part = (h >> np.uint64(64 - self._BITS)).astype(np.uint8)
        order = np.argsort(part, kind="stable")  # radix sort on uint8
        bounds = np.searchsorted(part[order], np.arange(self.PARTITIONS + 1))
        rec = rec[order]
        for i in np.flatnonzero(np.diff(bounds)):
            self._buf[i].append(rec[bounds[i]:bounds[i + 1]])
            self._buffered[i] += (bounds[i + 1] - bounds[i]) * rec.itemsize
            if self._buffered[i] >= self.FLUSH_BYTES:
                self._flush(i)

    def _partition(self, i: int) -> np.ndarray:
        if self._dir is None:  # nothing spilled yet: the buffers are all there is
            return np.concatenate(self._buf[i]) if self._buf[i] else np.empty(0, self._DTYPE)
        self._flush(i)
        path = self._path(i)
        return np.fromfile(path, self._DTYPE) if os.path.exists(path) else \
            np.empty(0, self._DTYPE)

    def duplicated(self) -> tuple[np.ndarray, np.ndarray]:
        """(key hashes, source rows) of every row whose key another row of the batch has.

        Cheap when there are none (one sort of the hashes per partition); the values of the
        few rows returned are compared afterwards (:func:`resolve_duplicates`), so the hot
        path never hashes whole rows.
        """
        hs: list[np.ndarray] = []
        rs: list[np.ndarray] = []
        for i in range(self.PARTITIONS):
            rec = self._partition(i)
            if len(rec) < 2:
                continue
            rec = rec[np.argsort(rec["h"], kind="stable")]
            same = rec["h"][1:] == rec["h"][:-1]
            if not same.any():
                continue
            dup = np.zeros(len(rec), bool)
            dup[1:] = same
            dup[:-1] |= same
            hs.append(rec["h"][dup])
            rs.append(rec["r"][dup])
        if not hs:
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        return np.concatenate(hs), np.concatenate(rs)

    def close(self) -> None:
        """Remove the spill files (also after a failed batch)."""
        import shutil

        self._buf = [[] for _ in range(self.PARTITIONS)]
        self._buffered[:] = 0
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def resolve_duplicates(h: np.ndarray, v: np.ndarray, r: np.ndarray, policy: str
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply a ``duplicates`` policy to rows sharing keys: key hash ``h``, value hash ``v``,
    source row ``r``. Returns sorted (exact copies to drop, rows to quarantine, rows kept over
    a conflict); see :class:`KeyTracker`."""
    empty = np.empty(0, np.int64)
    if len(r) == 0:
        return empty, empty, empty
    keep_last = policy == "last"
    order = np.lexsort((r, v, h))
    h, v, r = h[order], v[order], r[order]
    same = (h[1:] == h[:-1]) & (v[1:] == v[:-1])
    copy = np.zeros(len(r), bool)
    if keep_last:
        copy[:-1] = same  # an identical row follows: this one is the earlier copy
    else:
        copy[1:] = same
    drop = r[copy]
    h, r = h[~copy], r[~copy]
    order = np.lexsort((r, h))
    h, r = h[order], r[order]
    dup = np.zeros(len(r), bool)
    dup[1:] = h[1:] == h[:-1]
    dup[:-1] |= h[:-1] == h[1:]
    if policy == "reject_conflicts":
        return np.sort(drop), np.sort(r[dup]), empty
    first_of = np.ones(len(r), bool)
    first_of[1:] = h[1:] != h[:-1]
    last_of = np.ones(len(r), bool)
    last_of[:-1] = h[:-1] != h[1:]
    winner = last_of if keep_last else first_of
    return np.sort(drop), np.sort(r[dup & ~winner]), np.sort(r[dup & winner])


def validate_mappings(tenant: TenantConfig) -> None:
    """Parse every expression and ``where`` of the tenant up front (before anything lands).

    Raises :class:`LandingConfigError` naming tenant, source, entity and column.
    """
    for sname, source in tenant.sources.items():
        for entity, mapping in source.entities.items():
            items = list(mapping.expressions.items())
            if mapping.where:
                items.append(("where", mapping.where))
            for column, text in items:
                try:
                    parse(text)
                except ExpressionError as exc:
                    raise LandingConfigError(
                        f"tenant {tenant.id!r}, source {sname!r}, entity {entity!r}, column "
                        f"{column!r}: bad expression {text!r}: {exc}") from None


def number_parser(source: Source) -> Callable[[pl.Expr], pl.Expr]:
    """String -> Float64 honouring the source's decimal and thousands separators."""
    def to_number(e: pl.Expr) -> pl.Expr:
        s = e.cast(pl.String).str.strip_chars()
        if source.thousands_separator:
            s = s.str.replace_all(source.thousands_separator, "", literal=True)
        if source.decimal_separator == ",":
            s = s.str.replace(",", ".", literal=True)
        return s.cast(pl.Float64, strict=False)
    return to_number


def typed_source_fits(src: pl.DataType, kind: str) -> bool:
    """Whether a typed source column (Parquet) converts to contract type ``kind`` exactly.

    Strings are parsed (with per-value errors), so they always "fit"; a boolean is not an
    amount, a number is not a date, a float is not an identifier.
    """
    if src in (pl.String, pl.Null) or isinstance(src, (pl.Categorical, pl.Enum)):
        return True
    if kind == "string":
        return src.is_integer()
    if kind == "float":
        return src.is_numeric()
    if kind == "int":
        return src.is_integer() or src.is_float() or src.is_decimal()
    if kind == "bool":
        return src == pl.Boolean
    if kind == "date":
        return src == pl.Date or isinstance(src, pl.Datetime)
    if kind == "timestamp":
        return isinstance(src, pl.Datetime) or src == pl.Date
    return False


def resolve_column(name: str, schema: dict[str, pl.DataType]) -> str | None:
    """The source column a mapping means: exact name, else case/blank/BOM-insensitive match."""
    if name in schema:
        return name
    want = name.replace("\ufeff", "").strip().casefold()
    for have in schema:
        if have.replace("\ufeff", "").strip().casefold() == want:
            return have
    return None


@dataclass
class ChunkResult:
    good: pl.DataFrame          # canonical typed columns + _source_row
    bad: pl.DataFrame           # source values as strings + _source_row, _rule, _field, _reason
    filtered: int = 0

    @property
    def rows_in(self) -> int:
        return self.good.height + self.bad.height


@dataclass
class EntityPlan:
    tenant: TenantConfig
    source_name: str
    source: Source
    entity: str
    mapping: EntityMapping
    schema: dict[str, pl.DataType]
    label: str
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc)
                             .replace(tzinfo=None))
    missing_required: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    used_columns: set[str] = field(default_factory=set)
    #: Lookup tables by source name (``EntityMapping.lookups``); their columns join on as
    #: ``<lookup name>.<column>`` before mapping (:mod:`tenantlake.landing.lookups`).
    lookup_frames: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mapping.lookups:
            from tenantlake.landing.lookups import lookup_schema

            self.schema = {**self.schema, **lookup_schema(self.mapping, self.lookup_frames)}
        self.contract = get_contract(self.entity)
        self.targets = polars_schema(self.entity)
        self.to_number = number_parser(self.source)
        self.tz = self.source.timezone or self.tenant.timezone or "UTC"
        self._missing_msgs: dict[str, str] = {}
        self.where = self._compile_where()
        self.exprs: dict[str, tuple[pl.Expr, pl.Expr, pl.Expr | None]] = {}
        self._raw_dtypes: dict[str, pl.DataType] = {}
        for col in self.contract.columns:
            self._plan_column(col)
        self.checks = self._checks()

    # ------------------------------------------------------------------ building
    def _where_error(self, column: str, msg: str) -> LandingConfigError:
        return LandingConfigError(
            f"tenant {self.tenant.id!r}, source {self.source_name!r}, entity {self.entity!r}, "
            f"column {column!r}: {msg}")

    def _compile(self, column: str, text: str) -> tuple[pl.Expr, set[str]]:
        """Compile a mapping expression; returns (expr, referenced names absent in the file)."""
        comp = Compiler(self.schema, self.to_number,
                        resolve=lambda name: resolve_column(name, self.schema),
                        file_name=Path(self.label).name)
        try:
            compiled = comp.compile(text)
        except ExpressionError as exc:
            raise self._where_error(column, f"bad expression {text!r}: {exc}") from None
        self.used_columns |= compiled.columns - compiled.missing
        return compiled.expr, compiled.missing

    def _compile_where(self) -> pl.Expr | None:
        if not self.mapping.where:
            return None
        expr, missing = self._compile("where", self.mapping.where)
        if missing:
            raise SourceFileError(
                f"tenant {self.tenant.id!r}, source {self.source_name!r}, entity "
                f"{self.entity!r}: where {self.mapping.where!r} reads column(s) "
                f"{', '.join(sorted(missing))} not found in {self.label}",
                tenant_id=self.tenant.id, file=self.label)
        return expr.cast(pl.Boolean, strict=False).fill_null(False)

    def _plan_column(self, col: Column) -> None:
        """Set ``self.exprs[col] = (raw, typed, unmapped_mask)`` or record it as missing."""
        m = self.mapping
        raw: pl.Expr | None = None
        raw_dtype: pl.DataType = pl.String
        if col.name in m.columns:
            src = resolve_column(m.columns[col.name], self.schema)
            if src is None:
                self._missing(col, f"source column {m.columns[col.name]!r} not found")
                return
            self.used_columns.add(src)
            raw, raw_dtype = pl.col(src), self.schema[src]
            if not typed_source_fits(raw_dtype, col.dtype) and col.name not in m.lenient:
                raise SourceFileError(
                    f"tenant {self.tenant.id!r}, source {self.source_name!r}: {self.label}: "
                    f"column {src!r} is {raw_dtype} in the file, but {self.entity}."
                    f"{col.name} is {col.dtype}; typed sources are cast strictly, so nothing "
                    f"from this file was landed; fix: export {src!r} as {col.dtype}, or allow "
                    f"the cast with entities.{self.entity}.lenient: [{col.name}]",
                    tenant_id=self.tenant.id, file=self.label)
        elif col.name in m.constants:
            raw = pl.lit(_to_str(m.constants[col.name]), dtype=pl.String)
        elif col.name in m.expressions:
            raw, missing = self._compile(col.name, m.expressions[col.name])
            if missing:
                self._missing(col, f"expression reads column(s) {', '.join(sorted(missing))} "
                                   "not found")
                return
            raw_dtype = pl.LazyFrame(schema={**self.schema, ROW_COLUMN: pl.Int64}) \
                .select(raw.alias("x")).collect_schema()["x"]
        else:
            if col.required:  # pragma: no cover - tenants.py refuses such configs
                self._missing(col, "not mapped")
            return
        unmapped = None
        if col.name in m.value_maps:
            codes = {str(k).strip(): _to_str(v) for k, v in m.value_maps[col.name].items()}
            key = raw.cast(pl.String).str.strip_chars()
            mapped = key.replace_strict(list(codes), list(codes.values()), default=None,
                                        return_dtype=pl.String)
            unmapped = key.is_not_null() & (key != "") & mapped.is_null()
            raw, raw_dtype = mapped, pl.String
        typed = self._coerce(raw, raw_dtype, col)
        self.exprs[col.name] = (raw, typed, unmapped)
        self._raw_dtypes[col.name] = raw_dtype

    def _missing(self, col: Column, why: str) -> None:
        """A column the mapping names is not in the file.

        A required column, and an optional one the tenant mapped without listing it under
        ``absent_ok``, make the file's rows fail ``missing_required_column`` (the file is
        blocked): landing it with nulls would hide that the export changed.
        """
        mapped = col.name in self.mapping.columns or col.name in self.mapping.expressions
        if not col.required and mapped and col.name not in self.mapping.absent_ok:
            self.missing_required.append(col.name)
            self._missing_msgs[col.name] = (
                f"{col.name}: mapped column missing in {self.label}: {why} (columns present: "
                f"{', '.join(list(self.schema)[:30])}); fix: export it, map another column, or "
                f"list it under entities.{self.entity}.absent_ok to land such files with nulls")
            return
        if col.required:
            self.missing_required.append(col.name)
            hint = ""
            if len(self.schema) == 1:
                only = next(iter(self.schema))
                for d in (";", ",", "\t", "|"):
                    if d in only and d != self.source.csv.delimiter:
                        hint = f"; the header is one column {only[:80]!r}: the file looks " \
                               f"{d!r}-delimited, check csv.delimiter"
                        break
            self._missing_msgs[col.name] = (
                f"{col.name}: required column missing in {self.label}: {why} (columns present: "
                f"{', '.join(list(self.schema)[:30])}){hint}")
        else:
            self.missing_optional.append(col.name)

    # ------------------------------------------------------------------ coercion
    def _fmt(self, col: Column) -> str | None:
        if col.name in self.mapping.formats:
            return self.mapping.formats[col.name]
        return self.source.timestamp_format if col.dtype == "timestamp" else \
            self.source.date_format if col.dtype == "date" else None

    def _coerce(self, e: pl.Expr, src: pl.DataType, col: Column) -> pl.Expr:
        kind = col.dtype
        if kind == "string":
            if src == pl.String:
                s = e.str.strip_chars()
                return pl.when(s == "").then(None).otherwise(s)
            return e.cast(pl.String, strict=False)
        if kind == "float":
            if src == pl.String:
                return self.to_number(e)
            return e.cast(pl.Float64, strict=False)
        if kind == "int":
            if src.is_integer():
                return e.cast(pl.Int64, strict=False)
            if src == pl.String:
                # parse as an integer directly ("12", "1.234" with a thousands separator,
                # "12.0" and "12," whole): ~5x faster than a float parse and a wholeness test
                v = e.str.strip_chars()
                if self.source.thousands_separator:
                    v = v.str.replace_all(self.source.thousands_separator, "", literal=True)
                dec = "," if self.source.decimal_separator == "," else "."
                v = v.str.replace("\\" + dec + "0*$", "")
                return v.cast(pl.Int64, strict=False)
            # one numeric parse: whole numbers within float precision (|x| < 2**53) are ints
            f = e.cast(pl.Float64, strict=False)
            return pl.when((f == f.round(0)) & (f.abs() < 2.0 ** 53)).then(f.cast(pl.Int64))
        if kind == "bool":
            if src == pl.Boolean:
                return e
            if src.is_numeric():
                return pl.when(e == 1).then(True).when(e == 0).then(False)
            return e.cast(pl.String).str.strip_chars().replace_strict(
                _BOOL_WORDS, default=None, return_dtype=pl.Boolean)
        if kind == "date":
            if src == pl.Date:
                return e
            if isinstance(src, pl.Datetime):
                return e.dt.date()
            return self._parse_date(e.cast(pl.String).str.strip_chars(), self._fmt(col))
        if kind == "timestamp":
            if isinstance(src, pl.Datetime):
                return self._to_utc(e.cast(pl.Datetime("us", src.time_zone)), src.time_zone)
            if src == pl.Date:
                return e.cast(pl.Datetime("us"))
            return self._parse_ts(e.cast(pl.String).str.strip_chars(), self._fmt(col))
        raise AssertionError(kind)  # pragma: no cover

    @staticmethod
    def _parse_date(s: pl.Expr, fmt: str | None) -> pl.Expr:
        if fmt:
            if any(t in fmt for t in ("%H", "%M", "%S", "%z", "%I")):
                return s.str.to_datetime(fmt, strict=False, time_unit="us").dt.date()
            return s.str.to_date(fmt, strict=False)
        iso = s.str.to_date("%Y-%m-%d", strict=False)
        with_time = pl.when(s.str.slice(10, 1).is_in(["T", " "])).then(
            s.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        return pl.coalesce(iso, with_time)

    def _to_utc(self, e: pl.Expr, aware_tz: str | None) -> pl.Expr:
        """Timestamps -> UTC-naive; naive ones are wall-clock times in the source's zone.

        Why DST needs care: exports are written by clocks that jump. A wall time in the
        spring-forward gap (02:30 on the last Sunday of March in Berlin) does not exist; a clock
        that printed it had not jumped yet, so it is read with the offset before the gap, i.e.
        shifted forward by the gap (02:30 -> 03:30 CEST). A wall time of the autumn overlap is
        ambiguous; the earlier instant (still summer time) is taken. Neither is quarantined.
        """
        if aware_tz:
            return e.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        if self.tz in ("UTC", "Etc/UTC"):
            return e
        local = self._local_to_utc(e)
        return pl.when(local.is_null() & e.is_not_null()).then(self._gap_to_utc(e)) \
            .otherwise(local)

    def _local_to_utc(self, e: pl.Expr) -> pl.Expr:
        """Wall time -> UTC-naive; ambiguous -> earliest, non-existent (DST gap) -> null."""
        return (e.dt.replace_time_zone(self.tz, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC").dt.replace_time_zone(None))

    def _gap_to_utc(self, e: pl.Expr) -> pl.Expr:
        """A wall time inside a DST gap, read with the UTC offset in force just before the gap.

        polars only offers ``non_existent="raise"|"null"``, so the offset is taken from a wall
        time :data:`_GAP_PROBE` earlier (which exists: no zone has two transitions that close)
        and the probe distance is added back: 02:30 Berlin -> 01:30 UTC (= 03:30 CEST).
        """
        return self._local_to_utc(e - _GAP_PROBE) + _GAP_PROBE

    def _parse_ts(self, s: pl.Expr, fmt: str | None) -> pl.Expr:
        if fmt:
            aware = any(t in fmt for t in ("%z", "%:z", "%#z"))
            parsed = s.str.to_datetime(fmt, strict=False, time_unit="us",
                                       time_zone="UTC" if aware else None)
            return self._to_utc(parsed, "UTC" if aware else None)
        z = s.str.replace(r"Z$", "+00:00")
        aware = [z.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
                 for f in _AWARE_TS_FORMATS]
        naive = [s.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_TS_FORMATS]
        naive.append(s.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")))
        return pl.coalesce(self._to_utc(pl.coalesce(aware), "UTC"),
                           self._to_utc(pl.coalesce(naive), None))

    # ------------------------------------------------------------------ checks
    def _checks(self) -> list[tuple[str, str, pl.Expr, pl.Expr]]:
        """(rule, field, mask over the stage frame, message) in :data:`RULE_ORDER`."""
        out: list[tuple[str, str, pl.Expr, pl.Expr]] = []
        for name in self.missing_required:
            out.append(("missing_required_column", name, pl.lit(True),
                        pl.lit(self._missing_msgs[name])))
        out.append(("field_too_long", "", pl.col(_TOOLONG), pl.lit("")))
        out.append(("control_characters", "", pl.col(_NUL), pl.lit("")))
        for col in self.contract.columns:
            if col.name not in self.exprs:
                continue
            raw = pl.col(_RAW + col.name).cast(pl.String).str.slice(0, 200)
            c = pl.col(col.name)
            if self.exprs[col.name][2] is not None:
                out.append(("unmapped_code", col.name, pl.col(_UNMAPPED + col.name),
                            _format(f"{col.name}: code '{{}}' has no entry in "
                                      f"value_maps.{col.name}",
                                      pl.col(_UNMAPPED + col.name + "v"))))
            fmt = self._fmt(col)
            how = f" (format {fmt})" if fmt and col.dtype in ("date", "timestamp") else ""
            # a non-empty value that did not coerce (empty strings are nulls, not type errors)
            rawc = pl.col(_RAW + col.name)
            present = (rawc.str.len_bytes() > 0) if self._raw_dtypes[col.name] == pl.String \
                else rawc.is_not_null()
            bad_type = c.is_null() & present
            if col.dtype == "float":
                # NaN and +-infinity parse as floats but are not amounts: the row fails `type`
                # ("cannot parse 'NaN' as float"), never lands a value no KPI can use. Checked
                # on the parsed column (parsing once), not by filtering the parse itself.
                bad_type = bad_type | (c.is_not_null() & ~c.is_finite())
            out.append(("type", col.name, bad_type,
                        _format(f"{col.name}: cannot parse '{{}}' as {col.dtype}{how}", raw)))
        for col in self.contract.columns:
            if col.name in self.exprs and col.required:
                out.append(("required", col.name, pl.col(col.name).is_null(),
                            pl.lit(f"{col.name}: required value is missing")))
        for col in self.contract.columns:
            if col.name not in self.exprs:
                continue
            c = pl.col(col.name)
            if col.allowed:
                out.append(("allowed_values", col.name, ~c.is_in(list(col.allowed)),
                            _format(f"{col.name}: '{{}}' is not one of "
                                      f"{', '.join(col.allowed)}", c)))
            if col.min_value is not None:
                out.append(("min_value", col.name, c < col.min_value,
                            _format(f"{col.name}: {{}} is below the minimum "
                                      f"{col.min_value:g}", c)))
            if col.max_value is not None:
                out.append(("max_value", col.name, c > col.max_value,
                            _format(f"{col.name}: {{}} is above the maximum "
                                      f"{col.max_value:g}", c)))
            if col.not_future:
                limit = self.now + FUTURE_SKEW
                lim = pl.lit(limit.date()) if col.dtype == "date" else pl.lit(limit)
                out.append(("not_future", col.name, c > lim,
                            _format(f"{col.name}: {{}} is in the future (more than a day "
                                      "ahead of the landing clock)", c)))
        out += self._tenant_rules()
        rules = {"delivered_date_not_before_ship_date": ("delivered_date", "ship_date"),
                 "resolved_at_not_before_created_at": ("resolved_at", "created_at")}
        for rule in self.contract.row_rules:
            late, early = rules[rule]
            if late in self.exprs and early in self.exprs:
                out.append((rule, late, pl.col(late) < pl.col(early),
                            _format(f"{late} {{}} is before {early} {{}}", pl.col(late),
                                      pl.col(early))))
        return [(r, f, m.fill_null(False), msg) for r, f, m, msg in out]

    def _tenant_rules(self) -> list[tuple[str, str, pl.Expr, pl.Expr]]:
        """The YAML's ``rules`` per column, as checks named like the contract's own."""
        out: list[tuple[str, str, pl.Expr, pl.Expr]] = []
        for name, rule in self.mapping.rules.items():
            if name not in self.exprs:
                continue
            c = pl.col(name)
            dtype = self.contract.column(name).dtype
            where = f"entities.{self.entity}.rules.{name}"
            if rule.required:
                out.append(("required", name, c.is_null(),
                            pl.lit(f"{name}: required value is missing ({where}.required)")))
            if rule.allowed is not None:
                if dtype == "string":
                    allowed = pl.Series([str(a) for a in rule.allowed], dtype=pl.String)
                else:
                    allowed = pl.Series(rule.allowed).cast(self.targets[name], strict=False)
                out.append(("allowed_values", name, c.is_not_null() & ~c.is_in(allowed),
                            _format(f"{name}: '{{}}' is not one of "
                                    f"{', '.join(map(str, rule.allowed))} ({where}.allowed)",
                                    c)))
            for bound, value in (("min", rule.min), ("max", rule.max)):
                if value is None:
                    continue
                if dtype not in ("int", "float"):
                    raise self._where_error(name, f"{where}.{bound}: only numeric columns have "
                                                  f"bounds ({name} is {dtype})")
                bad = c < value if bound == "min" else c > value
                word = "below the minimum" if bound == "min" else "above the maximum"
                out.append((f"{bound}_value", name, bad,
                            _format(f"{name}: {{}} is {word} {value:g} ({where}.{bound})", c)))
            if rule.pattern is not None:
                txt = c.cast(pl.String)
                out.append(("pattern", name,
                            txt.is_not_null() & ~txt.str.contains(f"^(?:{rule.pattern})$"),
                            _format(f"{name}: '{{}}' does not match the pattern "
                                    f"{rule.pattern} ({where}.pattern)", txt.str.slice(0, 200))))
        return out

    # ------------------------------------------------------------------ applying
    def _with_lookups(self, frame: pl.DataFrame) -> pl.DataFrame:
        if not self.mapping.lookups:
            return frame
        from tenantlake.landing.lookups import join_lookups

        return join_lookups(frame, self.mapping, self.lookup_frames, resolve_column)

    def process(self, frame: pl.DataFrame, first_row: int, drift: list[str] = (),
                keys: KeyTracker | None = None, check_nul: bool = True) -> ChunkResult:
        """Map, coerce and check one frame of the unit.

        ``check_nul=False`` skips the NUL-byte check when the unit is known to hold none.

        ``drift`` source columns ride along with the good rows (as ``__drift__<name>``) so the
        caller can keep them in a sidecar aligned with the landed rows.
        """
        filtered = 0
        frame = self._with_lookups(with_row_numbers(frame, first_row))
        if self.where is not None:
            keep = frame.select(self.where).to_series()
            filtered = frame.height - int(keep.sum())
            if filtered:
                frame = frame.filter(keep)
        if ROW_COLUMN in frame.columns:
            rows = pl.col(ROW_COLUMN).cast(pl.Int64)
        else:
            rows = (pl.int_range(pl.len(), dtype=pl.Int64) + first_row)
        str_cols = [n for n, t in frame.schema.items() if t == pl.String and n not in
                    (ERR_RULE, ERR_FIELD, ERR_MSG)]
        toolong = (pl.any_horizontal([pl.col(n).str.len_bytes() > MAX_FIELD_CHARS
                                      for n in str_cols]).fill_null(False)
                   if str_cols else pl.lit(False))
        nul = (pl.any_horizontal([pl.col(n).str.contains("\x00", literal=True)
                                  for n in str_cols]).fill_null(False)
               if str_cols and check_nul else pl.lit(False))
        stage_exprs: list[pl.Expr] = [rows.alias("_source_row"), toolong.alias(_TOOLONG),
                                      nul.alias(_NUL)]
        for name, (raw, typed, unmapped) in self.exprs.items():
            stage_exprs += [raw.alias(_RAW + name), typed.alias(name)]
            if unmapped is not None:
                src = self.mapping.columns.get(name)
                real = resolve_column(src, frame.schema) if src else None
                orig = pl.col(real).cast(pl.String) if real else pl.lit(None, pl.String)
                stage_exprs += [unmapped.alias(_UNMAPPED + name),
                                orig.str.slice(0, 200).alias(_UNMAPPED + name + "v")]
        stage_exprs += [pl.col(d).cast(pl.String).alias(DRIFT_PREFIX + d) for d in drift]
        has_err = ERR_RULE in frame.columns
        if has_err:
            stage_exprs += [pl.col(ERR_RULE), pl.col(ERR_FIELD), pl.col(ERR_MSG)]
        masks = [m for _, _, m, _ in self.checks]
        if has_err:
            masks.insert(0, pl.col(ERR_RULE).is_not_null())
        # one query: coerce, then the any-rule-failed mask over the coerced columns
        stage = (frame.lazy().select(stage_exprs)
                 .with_columns(pl.any_horizontal(masks).alias(_BAD)).collect())
        bad = stage.get_column(_BAD)
        key = list(self.contract.key)
        canon = ["_source_row", *self.exprs, *[DRIFT_PREFIX + d for d in drift]]
        good = stage.select(canon) if not bad.any() else stage.filter(~bad).select(canon)
        if keys is not None and all(k in self.exprs for k in key) and good.height:
            keys.add(good.select(pl.struct(key).hash(seed=7)).to_series(),
                     good.get_column("_source_row"))
        if not bad.any():
            return ChunkResult(good, _empty_bad(), filtered)
        return ChunkResult(good, self._explain(stage.filter(bad), frame.filter(bad),
                                               str_cols, has_err), filtered)

    def _explain(self, stage: pl.DataFrame, src: pl.DataFrame, str_cols: list[str],
                 has_err: bool) -> pl.DataFrame:
        """Quarantine rows: the source values as strings plus the first failing rule.

        Runs on the bad rows only, so the per-rule messages cost nothing for clean data.
        """
        stage = stage.with_columns(_first_long_field(src, str_cols).alias("__tlf__"),
                                   _first_nul_field(src, str_cols).alias("__nulf__"))
        chain: list[tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]] = []  # (when, rule, field, msg)
        if has_err:
            chain.append((pl.col(ERR_RULE).is_not_null(), pl.col(ERR_RULE), pl.col(ERR_FIELD),
                          pl.col(ERR_MSG)))
        for r, f, m, message in self.checks:
            if r == "field_too_long":
                chain.append((m, pl.lit(r), pl.col("__tlf__"), _format(
                    f"{{}}: value longer than {MAX_FIELD_CHARS} characters",
                    pl.col("__tlf__"))))
            elif r == "control_characters":
                chain.append((m, pl.lit(r), pl.col("__nulf__"), _format(
                    "{}: value contains a NUL byte (\\x00), which no export should carry; "
                    "fix the export (the value is kept in quarantine, shown escaped)",
                    pl.col("__nulf__"))))
            else:
                chain.append((m, pl.lit(r), pl.lit(f), message))
        why = stage.select(*[_first_match(chain, i).alias(name) for i, name in
                             ((1, "_rule"), (2, "_field"), (3, "_reason"))],
                           pl.col("_source_row"))
        values = src.select([pl.col(n).cast(pl.String) for n in src.columns
                             if n not in (ERR_RULE, ERR_FIELD, ERR_MSG, ROW_COLUMN)])
        return pl.concat([values, why], how="horizontal")


    def _dup_reason(self, rule: pl.Expr) -> pl.Expr:
        """The ``_reason`` of a duplicate row, quoting its (canonical) key values."""
        key_txt = pl.concat_str([pl.lit(f"{k}=") + pl.col(k).cast(pl.String).fill_null("")
                                 for k in self.contract.key], separator=", ")
        where = f"entities.{self.entity}.duplicates"
        return pl.when(rule == "conflicting_duplicate_key").then(_format(
            "conflicting duplicate key ({}): other rows of this batch have the same key with "
            f"other values, so none of them lands ({where}: reject_conflicts; set it to first "
            "or last to keep one)", key_txt)).otherwise(_format(
                "duplicate key ({}): another row of this batch has the same key with other "
                f"values and is kept ({where}: {self.mapping.duplicates})", key_txt))

    def duplicate_rows(self, frame: pl.DataFrame, first_row: int,
                       dropped: pl.DataFrame) -> pl.DataFrame:
        """Quarantine rows (as :meth:`_explain` builds them) for the rows of ``frame`` numbered
        like :meth:`process` numbers them whose ``_source_row`` is in ``dropped``.

        ``dropped`` holds the canonical rows taken out of the raw file (key values and
        ``_dup_rule``), for the reason.
        """
        frame = self._with_lookups(with_row_numbers(frame, first_row))
        if self.where is not None:
            frame = frame.filter(frame.select(self.where).to_series())
        rows = pl.col(ROW_COLUMN).cast(pl.Int64) if ROW_COLUMN in frame.columns else \
            pl.int_range(pl.len(), dtype=pl.Int64) + first_row
        frame = frame.with_columns(rows.alias("_source_row"))
        frame = frame.filter(frame.get_column("_source_row").is_in(
            dropped.get_column("_source_row")))
        if frame.height == 0:
            return _empty_bad()
        why = frame.select("_source_row").join(
            dropped.select("_source_row", "_dup_rule", *self.contract.key), on="_source_row",
            how="left", maintain_order="left").select(
            pl.col("_dup_rule").alias("_rule"),
            pl.lit(",".join(self.contract.key)).alias("_field"),
            self._dup_reason(pl.col("_dup_rule")).alias("_reason"), pl.col("_source_row"))
        values = frame.select([pl.col(n).cast(pl.String) for n in frame.columns
                               if n not in (ERR_RULE, ERR_FIELD, ERR_MSG, ROW_COLUMN,
                                            "_source_row")])
        return pl.concat([values, why], how="horizontal")


def _format(template: str, *exprs: pl.Expr) -> pl.Expr:
    """``pl.format`` built from ``concat_str`` (nulls print as ``null``).

    Why: polars 2.1's ``str.format`` panicked ("assertion failed: i < self.len()") on some
    filtered frames of two or more bad rows; ``concat_str`` does the same job without it.
    """
    parts = template.split("{}")
    if len(parts) != len(exprs) + 1:
        raise ValueError(f"template {template!r} needs {len(parts) - 1} values")
    out: list[pl.Expr] = []
    for text, e in zip(parts, [*exprs, None]):
        if text:
            out.append(pl.lit(text))
        if e is not None:
            out.append(e.cast(pl.String).fill_null("null"))
    return pl.concat_str(out)


def with_row_numbers(frame: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """``frame`` with :data:`ROW_COLUMN` (1-based data row in the file) unless the reader set
    it; numbered before any ``where`` so a row keeps its file position (``row_number()``)."""
    if ROW_COLUMN in frame.columns:
        return frame
    return frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first_row)
                              .alias(ROW_COLUMN))


def _first_match(chain: list[tuple[pl.Expr, ...]], i: int) -> pl.Expr:
    """``when(c1).then(v1_i).when(c2).then(v2_i)...``: the value of the first true condition."""
    expr = pl.when(chain[0][0]).then(chain[0][i])
    for cond, *vals in chain[1:]:
        expr = expr.when(cond).then(vals[i - 1])
    return expr


def _first_long_field(src: pl.DataFrame, str_cols: list[str]) -> pl.Series:
    """Name of the first source column whose value exceeds :data:`MAX_FIELD_CHARS`, per row."""
    expr = pl.lit(None, pl.String)
    for n in reversed(str_cols):
        expr = pl.when(pl.col(n).str.len_bytes() > MAX_FIELD_CHARS).then(pl.lit(n)) \
            .otherwise(expr)
    return src.select(expr.alias("f"), pl.lit(0).alias("_"))["f"]


def _first_nul_field(src: pl.DataFrame, str_cols: list[str]) -> pl.Series:
    """Name of the first source column whose value holds a NUL byte, per row."""
    expr = pl.lit(None, pl.String)
    for n in reversed(str_cols):
        expr = pl.when(pl.col(n).str.contains("\x00", literal=True)).then(pl.lit(n)) \
            .otherwise(expr)
    return src.select(expr.alias("f"), pl.lit(0).alias("_"))["f"]


def _empty_bad() -> pl.DataFrame:
    return pl.DataFrame(schema={"_rule": pl.String, "_field": pl.String, "_reason": pl.String,
                                "_source_row": pl.Int64})
