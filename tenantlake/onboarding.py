"""Onboarding a tenant from its own exports: sniff the files, scaffold the YAML, preview a mapping.

* :func:`sniff_file` detects a file's format, encoding, CSV delimiter, decimal separator and date
  format from a sample of its bytes and values.
* :func:`suggest_entity` / :func:`suggest_columns` propose which canonical entity a file feeds
  and which of its columns map onto which contract columns, by name similarity (each suggestion
  carries its score; the scaffold marks them for the operator to confirm).
* :func:`scaffold_from` writes ``tenants/<id>.yml`` from a folder of exports (and copies them into
  the tenant's drop folder); it sets no freshness SLA, so historic exports are never blocked.
* :func:`preview_tenant` reads a sample of every source through the real landing plan and says,
  per entity, what the mapping yields before anything lands.
* :func:`check_source_columns` is what ``tenants validate`` adds: mapped column names checked
  against the files that are already in the drop folder.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import logging
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tenantlake.contracts import CONTRACTS, ENTITY_NAMES
from tenantlake.tenants import ConfigProblem, TenantConfig

log = logging.getLogger(__name__)

SAMPLE_BYTES = 256 << 10
SAMPLE_ROWS = 500
FORMATS_BY_SUFFIX = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".psv": "csv", ".dat": "csv",
                     ".tbl": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
                     ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}
DELIMITERS = (",", ";", "|", "\t", ":")
#: strptime formats tried on date-like values, most specific first; day-first and month-first
#: formats are told apart by a day above 12 (day-first wins a tie, the common ERP export case).
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y",
                "%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%d-%b-%Y", "%d %b %Y")
TIME_SUFFIXES = ("", " %H:%M:%S", " %H:%M", "T%H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S.%f")

#: Generic ERP vocabulary: a contract column's usual other names (English and common
#: abbreviations). Used only to rank suggestions; every suggestion is marked to confirm.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": ("order", "order no", "order number", "orderkey", "so", "so number", "document",
                 "doc no", "sales order"),
    "customer_id": ("customer", "cust", "custkey", "client", "account", "buyer", "customer no"),
    "order_date": ("date", "ordered", "order dt", "created", "placed", "document date"),
    "order_amount": ("total", "amount", "net total", "net amount", "order total", "totalprice",
                     "value"),
    "line_number": ("line", "pos", "position", "item no", "linenumber", "line no"),
    "sku": ("product", "item", "article", "material", "partkey", "part", "product code",
            "item code"),
    "quantity_ordered": ("qty", "quantity", "qty ordered", "ordered qty", "units"),
    "quantity_shipped": ("shipped", "qty shipped", "delivered qty", "shipped qty"),
    "unit_price": ("price", "unit price", "list price", "extendedprice"),
    "net_amount": ("line amount", "net", "line total", "extended amount", "line value"),
    "customer_name": ("name", "company", "customer name"),
    "product_name": ("name", "description", "product name", "item name"),
    "unit_cost": ("cost", "supplycost", "standard cost"),
    "status": ("state", "orderstatus", "order status"),
    "ship_date": ("shipdate", "shipped on", "dispatch date"),
    "delivered_date": ("receiptdate", "delivery date", "delivered"),
    "promised_date": ("commitdate", "promise date", "due date"),
    "requested_date": ("request date", "requested"),
    "currency": ("curr", "ccy", "currency code"),
    "region": ("region", "area", "territory"),
    "country": ("country", "nation", "land"),
    "category": ("category", "group", "product group", "brand", "type"),
}


# --------------------------------------------------------------------------- sniffing


@dataclass
class FileDialect:
    path: Path
    format: str
    encoding: str = "utf-8"
    delimiter: str = ","
    header: bool = True
    decimal_separator: str = "."
    date_format: str | None = None
    timestamp_format: str | None = None
    columns: list[str] = field(default_factory=list)
    #: column -> sample values (strings), for suggestions and the operator's eye
    samples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _detect_encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a cut multi-byte character at the end of the sample is still UTF-8
        if exc.start >= len(raw) - 3:
            return "utf-8"
    # bytes 0x80-0x9f are control characters in latin-1 but letters/quotes in cp1252
    return "cp1252" if any(0x80 <= b <= 0x9F for b in raw) else "latin-1"


def _detect_delimiter(lines: list[str]) -> str:
    """The candidate that splits every sampled line into the same number (>1) of fields."""
    best, best_score = ",", -1.0
    for d in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        common, n = Counter(counts).most_common(1)[0]
        score = n / len(counts) + (0.01 * common if n == len(counts) else 0)
        if score > best_score:
            best, best_score = d, score
    return best


_NUM_COMMA = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d+$")
_NUM_DOT = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d+$|^-?\d+\.\d+$")


def _detect_decimal(values: list[str]) -> str:
    comma = sum(1 for v in values if _NUM_COMMA.match(v.strip()))
    dot = sum(1 for v in values if _NUM_DOT.match(v.strip()))
    return "," if comma > dot else "."


def _parses(values: list[str], fmt: str) -> bool:
    try:
        for v in values:
            dt.datetime.strptime(v, fmt)
    except ValueError:
        return False
    return True


def _detect_date_format(columns: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """(date_format, timestamp_format) that parse every non-empty sample of the most columns."""
    date_votes: Counter[str] = Counter()
    ts_votes: Counter[str] = Counter()
    for values in columns.values():
        vals = [v.strip() for v in values if v and v.strip()][:100]
        if not vals or not any(ch.isdigit() for ch in vals[0]) or len(vals[0]) < 6:
            continue
        if all(re.fullmatch(r"-?\d+([.,]\d+)?", v) for v in vals) and len(vals[0]) != 8:
            continue  # plain numbers, not yyyymmdd dates
        for base in DATE_FORMATS:
            hit = None
            for suffix in TIME_SUFFIXES:
                if _parses(vals, base + suffix):
                    hit = base + suffix
                    break
            if hit:
                (ts_votes if hit != base else date_votes)[hit] += 1
                break
    date_fmt = date_votes.most_common(1)[0][0] if date_votes else None
    ts_fmt = ts_votes.most_common(1)[0][0] if ts_votes else None
    if ts_fmt and not date_fmt:
        date_fmt = next(b for b in DATE_FORMATS if ts_fmt.startswith(b))
    if date_fmt == "%Y-%m-%d" and ts_fmt in (None, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        return None, None  # ISO: the landing default reads it
    return date_fmt, ts_fmt


def sniff_file(path: Path) -> FileDialect:
    """Detect format, encoding, delimiter, decimal separator and date format of one export."""
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    fmt = FORMATS_BY_SUFFIX.get(Path(name).suffix, "csv")
    d = FileDialect(path, fmt)
    if fmt in ("parquet", "xlsx", "json", "jsonl"):
        frame = _read_typed_sample(path, fmt)
        d.columns = list(frame.columns)
        d.samples = {c: [str(v) for v in frame.get_column(c).head(SAMPLE_ROWS).to_list()
                         if v is not None] for c in frame.columns}
        if fmt in ("json", "jsonl"):
            d.date_format, d.timestamp_format = _detect_date_format(d.samples)
        return d
    opener = __import__("gzip").open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read(SAMPLE_BYTES)
    d.encoding = _detect_encoding(raw)
    text = raw.decode(d.encoding, errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(raw) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        d.notes.append("empty file")
        return d
    d.delimiter = _detect_delimiter(lines[:200])
    rows = list(csv.reader(lines[:SAMPLE_ROWS + 1], delimiter=d.delimiter))
    header, body = rows[0], rows[1:]
    # a header of numbers or dates is data: the file has no header row
    if header and sum(bool(re.fullmatch(r"[-\d.,/: ]+", h.strip())) for h in header) > \
            len(header) / 2:
        d.header = False
        body = rows
        header = [f"column_{i + 1}" for i in range(len(rows[0]))]
        d.notes.append("no header row detected: columns are named column_1, column_2, ...")
    d.columns = [h.strip() for h in header]
    d.samples = {c: [r[i] for r in body if i < len(r)] for i, c in enumerate(d.columns)}
    if all(not r[-1].strip() for r in rows if len(r) == len(d.columns)) and \
            not d.columns[-1]:
        d.notes.append("every line ends with a delimiter: the last column is empty")
    values = [v for vals in d.samples.values() for v in vals]
    d.decimal_separator = _detect_decimal(values)
    d.date_format, d.timestamp_format = _detect_date_format(d.samples)
    return d


def _read_typed_sample(path: Path, fmt: str) -> pl.DataFrame:
    if fmt == "parquet":
        return pl.read_parquet(path, n_rows=SAMPLE_ROWS)
    if fmt == "jsonl":
        with (__import__("gzip").open if path.name.endswith(".gz") else open)(path, "rb") as fh:
            head = b"".join(fh.readline() for _ in range(SAMPLE_ROWS))
        return pl.read_ndjson(io.BytesIO(head), infer_schema_length=None)
    if fmt == "json":
        return pl.read_json(path).head(SAMPLE_ROWS)
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True, max_row=SAMPLE_ROWS + 1))
    cols = [str(c) for c in rows[0]]
    return pl.DataFrame([[None if v is None else str(v) for v in r] for r in rows[1:]],
                        schema=cols, orient="row")


# --------------------------------------------------------------------------- suggestions


def _norm(name: str) -> str:
    s = re.sub(r"([a-z])([A-Z])", r"\1 \2", name.replace("\ufeff", ""))
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def similarity(source_col: str, canonical: str) -> float:
    """0..1: how alike a source column name and a canonical column (or one of its synonyms) are.

    Compares normalised names (camelCase and punctuation split, lower case) and also the name
    without a common table prefix (``O_ORDERDATE`` -> ``orderdate``)."""
    src = _norm(source_col)
    variants = {src, src.replace(" ", "")}
    parts = src.split(" ")
    if len(parts) > 1 and len(parts[0]) <= 3:
        variants |= {" ".join(parts[1:]), "".join(parts[1:])}
    targets = {_norm(canonical), _norm(canonical).replace(" ", "")}
    targets |= {_norm(s) for s in SYNONYMS.get(canonical, ())}
    targets |= {t.replace(" ", "") for t in list(targets)}
    return max(difflib.SequenceMatcher(None, a, b).ratio() for a in variants for b in targets)


@dataclass
class Suggestion:
    canonical: str
    source: str
    score: float


def suggest_columns(columns: list[str], entity: str, threshold: float = 0.75
                    ) -> list[Suggestion]:
    """Best one-to-one matches of source columns onto ``entity``'s contract (greedy by score)."""
    contract = CONTRACTS[entity]
    pairs = sorted(((similarity(s, c.name), c.name, s) for c in contract.columns
                    for s in columns), reverse=True)
    used_c: set[str] = set()
    used_s: set[str] = set()
    out = []
    for score, canon, src in pairs:
        if score < threshold or canon in used_c or src in used_s:
            continue
        used_c.add(canon)
        used_s.add(src)
        out.append(Suggestion(canon, src, round(score, 2)))
    order = {c.name: i for i, c in enumerate(contract.columns)}
    return sorted(out, key=lambda s: order[s.canonical])


def suggest_entity(path: Path, columns: list[str]) -> tuple[str, float]:
    """The entity whose contract best fits the file (name of the file, then column matches)."""
    stem = _norm(path.name.split(".")[0])
    best, best_score = ENTITY_NAMES[0], -1.0
    for e in ENTITY_NAMES:
        sugg = suggest_columns(columns, e)
        req = CONTRACTS[e].required_columns
        covered = sum(1 for s in sugg if s.canonical in req) / max(len(req), 1)
        name = max(difflib.SequenceMatcher(None, stem, _norm(e)).ratio(),
                   difflib.SequenceMatcher(None, stem, _norm(e).rstrip("s")).ratio())
        score = covered + 0.5 * name + 0.02 * len(sugg)
        if score > best_score:
            best, best_score = e, score
    return best, round(best_score, 2)


# --------------------------------------------------------------------------- scaffold


def _pattern(path: Path) -> str:
    """A glob for the file's series: digit runs in the name become ``*``."""
    return re.sub(r"\d+", "*", path.name)


def _q(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def scaffold_from(tenant_id: str, name: str, src: Path, drop: Path) -> tuple[str, list[str]]:
    """YAML text for a tenant fed by the exports under ``src`` (copied into ``drop``).

    Returns (yaml text, notes for the operator). One source per file series (files whose names
    differ only in digits); each gets its detected dialect, its best-fitting entity and the
    suggested column mappings, every one marked ``# CONFIRM``; required contract columns that
    found no match are listed as comments to fill in.
    """
    src = Path(src)
    files = sorted(p for p in (src.rglob("*") if src.is_dir() else [src])
                   if p.is_file() and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no export files under {src}")
    drop.mkdir(parents=True, exist_ok=True)
    series: dict[str, list[Path]] = {}
    base = src if src.is_dir() else src.parent
    for f in files:
        rel = f.relative_to(base)
        target = drop / rel
        if f.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
        series.setdefault(str(rel.parent / _pattern(rel)), []).append(f)
    notes = [f"copied {len(files)} file(s) into {drop}"]
    out = [f"# Tenant {tenant_id}: scaffolded by `tenantlake tenants add {tenant_id} --from "
           f"{src}`.",
           "# Every line marked CONFIRM is a guess from the file's column names: check it, then",
           f"# `tenantlake tenants preview {tenant_id}` and `tenantlake tenants validate`.",
           f"id: {tenant_id}",
           f"display_name: {_q(name)}",
           "partner: {id: my-partner, name: \"My Partner Ltd\"}   # CONFIRM: who manages it",
           "industry: other                # distribution | wholesale | ecommerce | "
           "manufacturing | retail | other",
           "reporting_currency: EUR        # CONFIRM: ISO 4217 code of the amounts",
           "timezone: UTC                  # CONFIRM: IANA zone the timestamps are in",
           "share_training_data: false",
           "sources:"]
    used_names: set[str] = set()
    for pattern, group in series.items():
        d = sniff_file(group[0])
        entity, _ = suggest_entity(group[0], d.columns)
        sname = re.sub(r"[^a-z0-9_]+", "_", Path(pattern).name.split(".")[0].lower()
                       .replace("*", "")).strip("_") or "export"
        while sname in used_names:
            sname += "_2"
        used_names.add(sname)
        out += [f"  {sname}:",
                "    kind: file",
                f"    path: {_q(pattern)}        # {len(group)} file(s) now",
                f"    format: {d.format}"]
        if d.format == "csv":
            opts = [f"delimiter: {_q(d.delimiter)}", f"encoding: {d.encoding}"]
            if not d.header:
                opts.append("header: false")
            out.append(f"    csv: {{{', '.join(opts)}}}   # detected")
            out.append(f"    decimal_separator: {_q(d.decimal_separator)}   # detected")
        if d.date_format:
            out.append(f"    date_format: {_q(d.date_format)}   # detected")
        if d.timestamp_format:
            out.append(f"    timestamp_format: {_q(d.timestamp_format)}   # detected")
        sugg = suggest_columns(d.columns, entity)
        mapped = {s.canonical for s in sugg}
        out += ["    entities:",
                f"      {entity}:                # CONFIRM: the entity this export feeds "
                f"(`tenantlake contracts show {entity}`)",
                "        columns:"]
        if not sugg:
            out.append("          {}")
        for s in sugg:
            sample = ", ".join(d.samples.get(s.source, [])[:2])
            out.append(f"          {s.canonical}: {_q(s.source)}   # CONFIRM (similarity "
                       f"{s.score:.2f}; e.g. {sample[:40]})")
        missing = [c for c in CONTRACTS[entity].required_columns if c not in mapped]
        for c in missing:
            out.append(f"          # {c}: ???        # REQUIRED, no column looked like it")
        rest = [c for c in d.columns if c and c not in {s.source for s in sugg}]
        if rest:
            out.append(f"        # unmapped columns: {', '.join(rest)}")
        if missing:
            notes.append(f"{sname} -> {entity}: required column(s) {', '.join(missing)} not "
                         "matched; map them before validating")
        notes += [f"{sname}: {n}" for n in d.notes]
    out += ["branding:",
            f"  name: {_q(name)}",
            "quality:",
            "  max_bad_share: 0.05           # more refused rows than this blocks the batch",
            "  # freshness_hours: {orders: 48}   # no SLA by default: historic exports land",
            "kpi_targets: {}                 # e.g. {perfect_order_rate: 0.95}; "
            "see `tenantlake kpi list`",
            "alerts: {channels: {}, rules: []}",
            "approval_policy: {default: required}",
            ""]
    return "\n".join(out), notes


# --------------------------------------------------------------------------- validate: columns


def _sample_frame(path: Path, source, tenant: TenantConfig, label: str,
                  rows: int = SAMPLE_ROWS) -> pl.DataFrame:
    from tenantlake.landing.sources.files import RESERVED, read_file

    frames = read_file(path, source, tenant, label)
    try:
        _, frame = next(frames)
    except StopIteration:
        return pl.DataFrame()
    finally:
        frames.close()
    keep = [c for c in frame.columns if c not in RESERVED]
    return frame.select(keep).head(rows)


def _files(sname: str, source, tenant: TenantConfig, home) -> list[Path]:
    from tenantlake.landing.errors import DropFolderMissingError
    from tenantlake.landing.sources.files import discover

    try:
        return [p for p, err in discover(sname, source, tenant, home) if err is None]
    except DropFolderMissingError:
        return []


def check_source_columns(tenant: TenantConfig, home, file: str) -> list[ConfigProblem]:
    """Mapped source column names (columns, expressions, where) that the files already in the
    drop folder do not have; each problem names the source, entity, field and file, with the
    closest existing column. Sources without files yet (or not file sources) are skipped."""
    from tenantlake.landing.expressions import ExpressionError, referenced_columns
    from tenantlake.landing.transform import resolve_column

    problems = []
    for sname, source in tenant.sources.items():
        if source.kind != "file":
            continue
        paths = _files(sname, source, tenant, home)
        if not paths:
            continue
        try:
            schema = dict(_sample_frame(paths[0], source, tenant, paths[0].name, rows=1).schema)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            problems.append(ConfigProblem(file, f"sources.{sname}",
                                          f"cannot read {paths[0].name}: {exc}",
                                          "check format and csv options"))
            continue
        for entity, m in source.entities.items():
            refs: list[tuple[str, str]] = [(f"columns.{k}", v) for k, v in m.columns.items()]
            for k, text in [*m.expressions.items(), *([("where", m.where)] if m.where else [])]:
                try:
                    refs += [(f"expressions.{k}" if k != "where" else "where", c)
                             for c in sorted(referenced_columns(text))]
                except ExpressionError as exc:
                    problems.append(ConfigProblem(file, f"sources.{sname}.entities.{entity}."
                                                  f"{k}", f"bad expression: {exc}"))
            prefixes = tuple(f"{lname}." for lname in m.lookups)
            refs = [(w, c) for w, c in refs if not (prefixes and c.startswith(prefixes))]
            refs += [(f"lookups.{lname}.by", lk.by) for lname, lk in m.lookups.items()]
            for where, col in refs:
                if resolve_column(col, schema) is None:
                    close = difflib.get_close_matches(col, list(schema), n=1, cutoff=0.5)
                    problems.append(ConfigProblem(
                        file, f"sources.{sname}.entities.{entity}.{where}",
                        f"column {col!r} is not in {paths[0].name} (its columns: "
                        f"{', '.join(list(schema)[:25])})",
                        f"did you mean {close[0]!r}?" if close else
                        "use one of the file's column names"))
    return problems


# --------------------------------------------------------------------------- preview

#: Entities a model needs before it can learn anything (the rest only add features).
MODEL_NEEDS = {"churn": ("orders",), "stockout": ("inventory_snapshots", "order_lines"),
               "project_failure": ("projects", "milestones")}


@dataclass
class EntityPreview:
    source: str
    entity: str
    file: str | None
    rows_sampled: int = 0
    mapped: dict[str, list[str]] = field(default_factory=dict)  # canonical -> sample values
    unmapped_source_columns: list[str] = field(default_factory=list)
    empty_contract_columns: list[str] = field(default_factory=list)
    value_map_misses: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # expression errors, unreadable files
    refused: dict[str, int] = field(default_factory=dict)  # rule:field -> sampled rows refused


@dataclass
class Preview:
    tenant_id: str
    entities: list[EntityPreview]
    kpis_available: list[str]
    kpis_not_available: dict[str, str]
    models: dict[str, str]

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _mapped_inputs(tenant: TenantConfig) -> set[str]:
    out = set()
    for s in tenant.sources.values():
        for e, m in s.entities.items():
            out |= {f"{e}.{c}" for c in (*m.columns, *m.constants, *m.expressions)}
    return out


def kpi_availability(tenant: TenantConfig, inputs: set[str] | None = None) -> dict[str, str]:
    """KPI -> "" if this mapping feeds every input the catalog's ``requires`` names, else the
    missing inputs (``a|b`` means either)."""
    from tenantlake.kpi import kpi_definitions

    have = _mapped_inputs(tenant) if inputs is None else inputs
    out = {}
    for k, d in kpi_definitions().items():
        missing = [req for req in d.requires.split()
                   if not any(alt in have for alt in req.split("|"))]
        out[k] = " ".join(missing)
    return out


def preview_tenant(tenant: TenantConfig, home, rows: int = 200) -> Preview:
    """Map a sample of every source through the landing plan, without writing anything."""
    from tenantlake.landing.errors import LandingConfigError, SourceFileError
    from tenantlake.landing.lookups import read_lookup_sources
    from tenantlake.landing.transform import EntityPlan

    entities: list[EntityPreview] = []
    inputs: set[str] = set()
    for sname, source in tenant.sources.items():
        paths = _files(sname, source, tenant, home) if source.kind == "file" else []
        for entity, mapping in source.entities.items():
            ep = EntityPreview(sname, entity, paths[0].name if paths else None)
            entities.append(ep)
            if source.kind != "file":
                ep.errors.append(f"{source.kind} source: not sampled by preview")
                continue
            if not paths:
                ep.errors.append(f"no files match {source.path!r} in the drop folder yet")
                continue
            try:
                frame = _sample_frame(paths[0], source, tenant, paths[0].name, rows)
                lookups = read_lookup_sources(tenant, home, sorted(
                    {lk.source for lk in mapping.lookups.values()}))
                plan = EntityPlan(tenant, sname, source, entity, mapping, dict(frame.schema),
                                  paths[0].name, lookup_frames=lookups)
                res = plan.process(frame, 1)
            except (LandingConfigError, SourceFileError) as exc:
                ep.errors.append(str(exc))
                continue
            ep.rows_sampled = frame.height
            used = set()
            for other in source.entities.values():
                used |= {c for c in other.columns.values()}
            used |= plan.used_columns
            ep.unmapped_source_columns = [c for c in frame.columns if c not in used]
            contract = CONTRACTS[entity]
            ep.empty_contract_columns = [c.name for c in contract.columns
                                         if c.name not in plan.exprs]
            # sample values as the contract types read them (also of rows a rule refuses)
            from tenantlake.landing.transform import with_row_numbers

            typed = plan._with_lookups(with_row_numbers(frame, 1)).select(
                [t.alias(c) for c, (_, t, _) in plan.exprs.items()])
            for c in plan.exprs:
                vals = typed.get_column(c).drop_nulls().head(3).to_list()
                ep.mapped[c] = [str(v) for v in vals]
                if vals:
                    inputs.add(f"{entity}.{c}")
            for msg in plan.missing_required:
                ep.errors.append(plan._missing_msgs.get(msg, msg))
            bad = res.bad
            if bad.height:
                for (rule, fld), n in Counter(zip(bad.get_column("_rule").to_list(),
                                                  bad.get_column("_field").to_list())).items():
                    ep.refused[f"{rule}:{fld}" if fld else rule] = n
                # codes the contract does not know: what value_maps must translate
                miss = bad.filter(pl.col("_rule").is_in(["unmapped_code", "allowed_values"]))
                for r in miss.select("_field", "_reason").iter_rows():
                    codes = ep.value_map_misses.setdefault(r[0], [])
                    code = re.search(r"code '(.*)' has no entry|: '(.*)' is not one of", r[1])
                    value = code and (code.group(1) or code.group(2))
                    if value and value not in codes:
                        codes.append(value)
    avail = kpi_availability(tenant, inputs)
    sent = {e.entity for e in entities if e.rows_sampled}
    models = {m: ("available" if all(n in sent for n in needs) else
                  f"needs {', '.join(n for n in needs if n not in sent)}")
              for m, needs in MODEL_NEEDS.items()}
    return Preview(tenant.id, entities, [k for k, v in avail.items() if not v],
                   {k: f"needs {v}" for k, v in avail.items() if v}, models)
