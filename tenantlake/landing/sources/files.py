"""File drops: find a tenant's export files and stream them as polars frames.

Every reader streams in bounded memory (pyarrow's streaming CSV reader, Parquet row groups,
JSON lines in chunks, openpyxl read-only for Excel) and yields frames with the file's own column
names. CSV/JSON/Excel values arrive as strings (coercion is landing's job, where it can say which
value failed); Parquet keeps its types.

A reader never drops a row silently: a row it cannot parse (wrong number of fields, broken JSON
line, bytes that are not valid in the declared encoding) is yielded with the reserved columns
:data:`ERR_RULE`/:data:`ERR_FIELD`/:data:`ERR_MSG` set, and landing quarantines it with that
reason. Readers may also yield :data:`ROW_COLUMN` (1-based row number in the file) when it is
more precise than "first row of the frame + offset".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import gzip
import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tenantlake.landing.errors import (
    DropFolderMissingError,
    LandingConfigError,
    SourceFileError,
)
from tenantlake.landing.sources.base import SourceUnit
from tenantlake.tenants import Source, TenantConfig

ERR_RULE = "__tl_err_rule__"
ERR_FIELD = "__tl_err_field__"
ERR_MSG = "__tl_err_msg__"
ROW_COLUMN = "__tl_row__"
RESERVED = (ERR_RULE, ERR_FIELD, ERR_MSG, ROW_COLUMN)

#: CSV bytes per frame. Why 2 MB (~30k rows): every frame lives in several forms at once (read
#: ahead, being transformed, queued for the Parquet writer), so the working set is a multiple of
#: it; 8 MB frames cost ~200 MB more peak RSS and were no faster.
CSV_BLOCK_BYTES = 2 << 20
CHUNK_ROWS = 100_000
_GLOB_CHARS = set("*?[")


# --------------------------------------------------------------------------- discovery


def drop_root(tenant: TenantConfig, home) -> Path:
    """The tenant's drop folder (``home`` may be a :class:`~tenantlake.settings.Home` or a path)."""
    return Path(tenant.drop_dir(home))


def _base_and_pattern(source: Source, tenant: TenantConfig, home) -> tuple[Path, str]:
    """(folder files must stay inside, glob/path inside it) for a file source.

    Source paths are relative to the drop folder by configuration (``tenants.py`` refuses
    absolute paths, ``..`` and variables); :func:`discover` still checks every match after
    resolving symlinks.
    """
    root = drop_root(tenant, home)
    return root, str(root / (source.path or ""))


def check_drop_folder(source_name: str, source: Source, tenant: TenantConfig, home) -> None:
    """Raise naming tenant and folder when the drop folder is missing or escapes its root.

    The folder must resolve (symlinks followed) inside the operator's drops root or an extra
    root of the platform configuration, inside the tenant's own ``<root>/<tenant id>``: a
    symlinked folder pointing elsewhere (``/etc``, another tenant's folder) is refused.
    """
    from tenantlake.settings import drops_root, extra_drop_roots

    base, _ = _base_and_pattern(source, tenant, home)
    if not base.is_dir():
        raise DropFolderMissingError(
            f"tenant {tenant.id!r}, source {source_name!r}: drop folder {base} does not exist "
            f"(create it, or set drop_folder in tenants/{tenant.id}.yml)")
    resolved = base.resolve()
    roots = [drops_root(home), *extra_drop_roots().values()]
    own = [r / tenant.id for r in roots]
    if not any(resolved == o or o in resolved.parents for o in own):
        raise LandingConfigError(
            f"tenant {tenant.id!r}, source {source_name!r}: drop folder {base} resolves to "
            f"{resolved}, outside the tenant's own folder of the drops root "
            f"({', '.join(str(o) for o in own)}) (rule: confinement; a symlinked drop folder "
            "may not point elsewhere)")


def discover(source_name: str, source: Source, tenant: TenantConfig,
             home) -> list[tuple[Path, SourceFileError | None]]:
    """Files of one source, sorted, each with the refusal error if it resolves outside the base.

    A folder means every non-hidden file directly in it; a glob is matched with ``**`` support.
    Hidden files, Excel lock files (``~$*``) and writers' temp files (``.tmp-*``, ``*.part``)
    are never picked up.
    """
    check_drop_folder(source_name, source, tenant, home)
    base, pattern = _base_and_pattern(source, tenant, home)
    p = Path(pattern)
    if not (_GLOB_CHARS & set(pattern)) and p.is_dir():
        candidates = [q for q in p.iterdir()]
    elif not (_GLOB_CHARS & set(pattern)):
        candidates = [p] if p.exists() or p.is_symlink() else []
    else:
        candidates = [Path(q) for q in glob.glob(pattern, recursive=True)]
    base_resolved = base.resolve()
    out: list[tuple[Path, SourceFileError | None]] = []
    for q in sorted(candidates):
        if q.name.startswith((".", "~$")) or q.name.endswith(".part") or q.is_dir():
            continue
        resolved = q.resolve()
        err = None
        if base_resolved not in resolved.parents:
            err = SourceFileError(
                f"tenant {tenant.id!r}, source {source_name!r}: refusing {q}: it resolves to "
                f"{resolved}, outside the drop folder {base_resolved} (symlink or glob escape)",
                tenant_id=tenant.id, file=str(q))
        out.append((q, err))
    return out


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes: the unit's identity in the landing ledger."""
    return hash_and_scan(path)[0]


def hash_and_scan(path: Path) -> tuple[str, bool]:
    """(sha256 of the file's bytes, whether they hold a NUL byte), in one read.

    Why scan here: the file is read once for its hash anyway, and a memchr over each block is
    nearly free, while checking every value of every string column for NUL bytes was ~15% of
    the landing time. Compressed or binary formats are reported as "may hold" (True).
    """
    h = hashlib.sha256()
    nul = False
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            nul = nul or b"\x00" in block
    return h.hexdigest(), nul


def iter_file_units(source_name: str, source: Source, tenant: TenantConfig,
                    home) -> Iterator[SourceUnit]:
    """One :class:`SourceUnit` per file; refused files yield a unit whose frames() raises."""
    root = drop_root(tenant, home).resolve()
    for path, refusal in discover(source_name, source, tenant, home):
        try:
            label = str(path.resolve().relative_to(root))
        except ValueError:
            label = str(path)
        if refusal is not None:
            yield SourceUnit(label=label, content_hash="refused:" + label,
                             frames=_raiser(refusal))
            continue
        digest, nul = hash_and_scan(path)
        text = source.format in ("csv", "jsonl", "json") and not _is_gzip(path)
        yield SourceUnit(label=label, content_hash=digest,
                         frames=lambda p=path, lbl=label: read_file(p, source, tenant, lbl),
                         size_bytes=path.stat().st_size, may_hold_nul=nul or not text)


def _raiser(exc: Exception):
    def frames():
        raise exc
        yield  # pragma: no cover
    return frames


# --------------------------------------------------------------------------- readers


def read_file(path: Path, source: Source, tenant: TenantConfig,
              label: str) -> Iterator[tuple[int, pl.DataFrame]]:
    """Dispatch on ``source.format``; wrap any reader failure into a :class:`SourceFileError`."""
    readers = {"csv": read_csv, "jsonl": read_jsonl, "json": read_json,
               "parquet": read_parquet, "xlsx": read_xlsx}
    reader = readers[source.format or "csv"]
    try:
        if _is_empty(path):
            raise SourceFileError(
                f"tenant {tenant.id!r}: {label} is empty (0 bytes): an export that failed "
                "half-way looks like this; nothing from this file was landed; fix: re-export "
                "it, or remove it from the drop folder", tenant_id=tenant.id, file=label)
        yield from reader(path, source)
    except SourceFileError as exc:
        if exc.tenant_id:
            raise
        raise SourceFileError(f"tenant {tenant.id!r}: cannot read {label} as {source.format}: "
                              f"{exc}; nothing from this file was landed",
                              tenant_id=tenant.id, file=label) from None
    except DuplicateHeaderError as exc:
        raise SourceFileError(f"tenant {tenant.id!r}: {label}: {exc}; nothing from this file "
                              "was landed", tenant_id=tenant.id, file=label) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure refuses the whole file
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceFileError(
            f"tenant {tenant.id!r}: cannot read {label} as {source.format}: {msg}"
            f"{_reader_hint(path, source, msg)}; nothing from this file was landed",
            tenant_id=tenant.id, file=label) from None


class DuplicateHeaderError(ValueError):
    """A header names the same column twice (landing could only guess which one is meant)."""


def _dedupe(names: list[str], *, strict: bool = False,
            hint: str = "rename one of them in the export") -> list[str]:
    """Unique, non-empty column names (``'' -> column_3``).

    A non-empty name given twice is refused when ``strict`` (file headers: landing would take
    an arbitrary one of the two columns), else numbered (``a, a -> a, a_2``).
    """
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, n in enumerate(names, 1):
        n = (n or "").replace("\ufeff", "").strip() or f"column_{i}"
        if strict and n in seen:
            raise DuplicateHeaderError(
                f"the header names column {n!r} twice (columns {seen[n]} and {i}); "
                f"fix: {hint}")
        base, k = n, 2
        while n in seen:
            n, k = f"{base}_{k}", k + 1
        seen[n] = i
        out.append(n)
    return out


_CSV_DUP_HINT = ("rename one of them in the export, or set csv.header: false with "
                 "csv.skip_rows: 1 and map the columns by position (f0, f1, ...)")

#: Byte-order marks, longest first (the UTF-32-LE mark starts with the UTF-16-LE one).
BOMS = ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16"), (b"\xff\xfe", "utf-16"))
_MAGIC = ((b"PAR1", "parquet", "Parquet"), (b"PK\x03\x04", "xlsx", "an Excel (zip) workbook"),
          (b"\xd0\xcf\x11\xe0", "xlsx", "a legacy Excel (.xls) workbook: save it as .xlsx"))


def _head(path: Path, n: int = 4096) -> bytes:
    opener = gzip.open if path.suffix == ".gz" or _is_gzip(path) else open
    with opener(path, "rb") as fh:
        return fh.read(n)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def text_encoding(path: Path, source: Source, fmt: str) -> str:
    """The encoding to read a text file with: the declared one, or the one its BOM declares.

    A UTF-16/32 byte-order mark is a declaration by the exporting program, so with the default
    ``csv.encoding`` (utf-8) the file is read in the BOM's encoding; a BOM that contradicts an
    explicitly declared other encoding refuses the file naming ``csv.encoding``. Bytes of
    another format (Parquet, Excel) in a text source refuse the file naming ``format``.
    """
    head = _head(path)
    for magic, fmt_name, what in _MAGIC:
        if head.startswith(magic):
            raise SourceFileError(
                f"the file is {what} (it starts with {magic!r}), not {fmt}; fix: set "
                f"format: {fmt_name} for this source (or give such files their own source)",
                tenant_id="", file=str(path))
    declared = source.csv.encoding.lower().replace("_", "-")
    for bom, enc in BOMS:
        if head.startswith(bom):
            if declared.startswith(enc) or (enc != "utf-8" and declared in ("utf-8", "utf8")):
                return "utf-8" if enc == "utf-8" else enc
            raise SourceFileError(
                f"the file starts with a {enc.upper()} byte-order mark but csv.encoding is "
                f"{source.csv.encoding!r}; fix: set csv.encoding: {enc}",
                tenant_id="", file=str(path))
    if head.count(b"\x00") > len(head) // 4:
        raise SourceFileError(
            f"the file is binary or UTF-16/32 without a byte-order mark ({head.count(0)} NUL "
            f"bytes in its first {len(head)}); fix: set csv.encoding (utf-16-le, utf-16-be...) "
            "or the right format", tenant_id="", file=str(path))
    return source.csv.encoding


def _reader_hint(path: Path, source: Source, msg: str) -> str:
    """The YAML option that fixes a raw reader error, as ``; fix: ...`` (or nothing)."""
    if "straddl" in msg:
        return (f" (a field or row longer than the {CSV_BLOCK_BYTES >> 20} MiB read block: "
                "almost always an unbalanced quote character); fix: check csv.quote_char "
                "(set it to '' when the export does not quote), or the export")
    if "codec can't decode" in msg or "invalid start byte" in msg:
        return "; fix: set csv.encoding to the export's encoding (e.g. latin-1, cp1252, utf-16)"
    if "Expected" in msg and "columns" in msg:
        return "; fix: check csv.delimiter and csv.quote_char"
    if source.format == "parquet" and ("magic" in msg.lower() or "footer" in msg.lower()):
        return "; fix: the file is not Parquet (or was cut short): re-export it or set format"
    return ""


def _is_empty(path: Path) -> bool:
    if path.stat().st_size == 0:
        return True
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            return not fh.read(1)
    return False


def read_csv(path: Path, source: Source) -> Iterator[tuple[int, pl.DataFrame]]:
    """Stream a CSV (any delimiter/quote/encoding, optional gzip) as all-string frames.

    Columns are read as binary and decoded here, so one badly encoded value quarantines its row
    (rule ``invalid_encoding``) instead of failing the whole file; rows with the wrong number of
    fields are quarantined as ``malformed_row`` with their line number and text.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if _is_empty(path):
        return
    opts = source.csv
    parse = dict(delimiter=opts.delimiter, quote_char=opts.quote_char or False,
                 newlines_in_values=True)
    enc = text_encoding(path, source, "csv")
    compression = "gzip" if _is_gzip(path) else "detect"
    names = _csv_header(path, opts, parse, enc, compression)
    if not names:
        return
    bad_rows: list[tuple[int | None, str, int, int]] = []

    def on_invalid(row) -> str:
        bad_rows.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    stream = pa.input_stream(str(path), compression=compression)
    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(column_names=names, encoding=enc,
                                      skip_rows=opts.skip_rows + (1 if opts.header else 0),
                                      block_size=CSV_BLOCK_BYTES,
                                      # single-threaded: keeps line numbers of bad rows
                                      use_threads=False),
        parse_options=pcsv.ParseOptions(**parse, invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(column_types={n: pa.binary() for n in names},
                                            null_values=opts.null_values,
                                            strings_can_be_null=True,
                                            quoted_strings_can_be_null=True))
    first = 1
    malformed = 0
    with contextlib.closing(reader):
        for batch in _offset_errors(reader, stream):
            frame = _decode_batch(batch, enc)
            yield first + malformed, frame
            first += frame.height
            if bad_rows:
                err = _malformed_frame(names, bad_rows)
                malformed += len(bad_rows)
                bad_rows.clear()
                yield 0, err
    if bad_rows:
        yield 0, _malformed_frame(names, bad_rows)


def _offset_errors(reader, stream):
    """Batches of ``reader``; a reader error says how far into the file it happened."""
    import pyarrow as pa

    it = iter(reader)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            try:
                where = f"near byte offset {stream.tell():,}"
            except (OSError, ValueError):
                where = "at an unknown offset"
            raise ValueError(f"{where}: {str(exc).strip().splitlines()[0]}") from None
        yield batch


def _csv_header(path: Path, opts, parse: dict, encoding: str | None = None,
                compression: str = "detect") -> list[str]:
    """Column names of a CSV (``f0, f1, ...`` without a header); a repeated name refuses it."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    reader = pcsv.open_csv(
        pa.input_stream(str(path), compression=compression),
        read_options=pcsv.ReadOptions(encoding=encoding or opts.encoding,
                                      skip_rows=opts.skip_rows,
                                      autogenerate_column_names=not opts.header,
                                      block_size=1 << 20, use_threads=False),
        parse_options=pcsv.ParseOptions(**parse, invalid_row_handler=lambda r: "skip"))
    with contextlib.closing(reader):
        return _dedupe(list(reader.schema.names), strict=True, hint=_CSV_DUP_HINT)


def _decode_batch(batch, encoding: str) -> pl.DataFrame:
    """Binary columns -> UTF-8 strings; invalid bytes mark the row ``invalid_encoding``."""
    import pyarrow as pa

    cols: dict[str, object] = {}
    err_field: list[str | None] | None = None
    err_msg: list[str | None] | None = None
    for name, arr in zip(batch.schema.names, batch.columns):
        try:
            cols[name] = arr.cast(pa.string())
            continue
        except pa.ArrowInvalid:
            pass
        values = arr.to_pylist()
        decoded: list[str | None] = []
        if err_field is None:
            err_field, err_msg = [None] * len(values), [None] * len(values)
        for i, v in enumerate(values):
            if v is None:
                decoded.append(None)
                continue
            try:
                decoded.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(v.decode("latin-1"))
                if err_field[i] is None:
                    err_field[i] = name
                    err_msg[i] = (f"{name}: value {v[:80]!r} is not valid {encoding}; fix the "
                                  "export or set csv.encoding (e.g. latin-1, cp1252)")
        cols[name] = pa.array(decoded, pa.string())
    frame = pl.from_arrow(pa.table(cols))
    assert isinstance(frame, pl.DataFrame)
    if err_field is not None:
        frame = frame.with_columns(
            pl.Series(ERR_RULE, ["invalid_encoding" if f else None for f in err_field],
                      pl.String),
            pl.Series(ERR_FIELD, err_field, pl.String), pl.Series(ERR_MSG, err_msg, pl.String))
    return frame


def _malformed_frame(names: list[str], rows: list[tuple[int | None, str, int, int]]
                     ) -> pl.DataFrame:
    """Rows pyarrow could not split into the header's columns, as quarantine-ready errors."""
    data: dict[str, list] = {n: [None] * len(rows) for n in names}
    data[ROW_COLUMN] = [r[0] for r in rows]
    data[ERR_RULE] = ["malformed_row"] * len(rows)
    data[ERR_FIELD] = [None] * len(rows)
    data[ERR_MSG] = [f"line {num}: expected {exp} fields, got {act} (truncated row, wrong "
                     f"delimiter or unbalanced quote): {text[:200]!r}"
                     for num, text, exp, act in rows]
    return pl.DataFrame(data, schema={**{n: pl.String for n in names}, ROW_COLUMN: pl.Int64,
                                      ERR_RULE: pl.String, ERR_FIELD: pl.String,
                                      ERR_MSG: pl.String})


def _to_str(v: object) -> str | None:
    """JSON/Excel scalar -> the string landing parses (JSON spelling for bools and nesting)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ") if (v.hour, v.minute, v.second, v.microsecond) != (
            0, 0, 0, 0) else v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def _records_frame(records: list[tuple[int, dict | None, str | None]]) -> pl.DataFrame:
    """(row number, record or None, error) tuples -> an all-string frame with error columns."""
    names: dict[str, None] = {}
    for _, rec, _ in records:
        if rec:
            names.update(dict.fromkeys(rec))
    cols = _dedupe([str(n) for n in names])
    data: dict[str, list] = {c: [] for c in cols}
    data[ROW_COLUMN], data[ERR_RULE], data[ERR_MSG] = [], [], []
    for num, rec, err in records:
        for key, c in zip(names, cols):
            data[c].append(_to_str(rec.get(key)) if rec else None)
        data[ROW_COLUMN].append(num)
        data[ERR_RULE].append("malformed_row" if err else None)
        data[ERR_MSG].append(err)
    data[ERR_FIELD] = [None] * len(records)
    schema = {**{c: pl.String for c in cols}, ROW_COLUMN: pl.Int64, ERR_RULE: pl.String,
              ERR_MSG: pl.String, ERR_FIELD: pl.String}
    frame = pl.DataFrame(data, schema=schema)
    if frame.get_column(ERR_RULE).null_count() == frame.height:
        frame = frame.drop(ERR_RULE, ERR_FIELD, ERR_MSG)
    return frame


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, errors="strict", newline="")
    return open(path, encoding=encoding, errors="strict", newline="")


def read_jsonl(path: Path, source: Source) -> Iterator[tuple[int, pl.DataFrame]]:
    """JSON lines in chunks; a line that is not a JSON object is quarantined as malformed."""
    enc = text_encoding(path, source, "jsonl")
    enc = "utf-8-sig" if enc == "utf-8" else enc
    batch: list[tuple[int, dict | None, str | None]] = []
    with _open_text(path, enc) as fh:
        for num, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                err = None if isinstance(rec, dict) else f"line {num}: not a JSON object"
            except json.JSONDecodeError as exc:
                rec, err = None, f"line {num}: invalid JSON ({exc.msg}): {line[:200]!r}"
            batch.append((num, rec if isinstance(rec, dict) else None, err))
            if len(batch) >= CHUNK_ROWS:
                yield batch[0][0], _records_frame(batch)
                batch = []
    if batch:
        yield batch[0][0], _records_frame(batch)


def read_json(path: Path, source: Source) -> Iterator[tuple[int, pl.DataFrame]]:
    """A JSON array of objects, decoded one object at a time (bounded memory).

    A top-level object holding one list of records (``{"data": [...]}``) is also accepted; that
    shape cannot be streamed with the standard library, so it is loaded whole.
    """
    enc = text_encoding(path, source, "json")
    enc = "utf-8-sig" if enc == "utf-8" else enc
    with _open_text(path, enc) as fh:
        head = fh.read(1 << 16)
        if not head.strip():
            return
        if head.lstrip()[0] == "{":
            doc = json.loads(head + fh.read())
            lists = [v for v in doc.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise ValueError("expected a JSON array, or an object with exactly one list of "
                                 "records")
            records = lists[0]
            for i in range(0, len(records), CHUNK_ROWS):
                part = records[i:i + CHUNK_ROWS]
                yield i + 1, _records_frame(
                    [(i + k + 1, r if isinstance(r, dict) else None,
                      None if isinstance(r, dict) else f"record {i + k + 1}: not an object")
                     for k, r in enumerate(part)])
            return
        batch: list[tuple[int, dict | None, str | None]] = []
        for num, rec in enumerate(_iter_json_array(fh, head), 1):
            ok = isinstance(rec, dict)
            batch.append((num, rec if ok else None,
                          None if ok else f"record {num}: not a JSON object"))
            if len(batch) >= CHUNK_ROWS:
                yield batch[0][0], _records_frame(batch)
                batch = []
        if batch:
            yield batch[0][0], _records_frame(batch)


def _iter_json_array(fh, buf: str) -> Iterator[object]:
    """Decode the elements of a top-level JSON array incrementally with ``raw_decode``."""
    decoder = json.JSONDecoder()
    pos = buf.index("[") + 1
    while True:
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos < len(buf):
                break
            more = fh.read(1 << 16)
            if not more:
                raise ValueError("JSON array is not closed (truncated file?)")
            buf, pos = buf[pos:] + more, 0
        if buf[pos] == "]":
            return
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError:
                more = fh.read(1 << 16)
                if not more:
                    raise
                buf, pos = buf[pos:] + more, 0
        yield obj
        buf, pos = buf[end:], 0


def read_parquet(path: Path, source: Source) -> Iterator[tuple[int, pl.DataFrame]]:
    """Parquet row groups in batches, keeping the file's types."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    first = 1
    for batch in pf.iter_batches(batch_size=256_000):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield first, frame
        first += frame.height


def read_xlsx(path: Path, source: Source) -> Iterator[tuple[int, pl.DataFrame]]:
    """An Excel sheet via openpyxl read-only mode (streams rows; blank rows are skipped)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = source.sheet
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            ws = wb.worksheets[sheet]
        else:
            ws = wb[sheet]
        rows = ws.iter_rows(values_only=True)
        for _ in range(source.csv.skip_rows):
            next(rows, None)
        header = next(rows, None) if source.csv.header else None
        names: list[str] | None = _dedupe(
            [_to_str(h) or "" for h in header], strict=True,
            hint="rename one of them in the sheet") if header else None
        batch: list[tuple[int, dict | None, str | None]] = []
        for num, row in enumerate(rows, 1):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            if names is None:
                names = [f"f{i}" for i in range(len(row))]
            rec = {n: row[i] if i < len(row) else None for i, n in enumerate(names)}
            batch.append((num, rec, None))
            if len(batch) >= CHUNK_ROWS:
                yield batch[0][0], _records_frame(batch)
                batch = []
        if batch:
            yield batch[0][0], _records_frame(batch)
    finally:
        wb.close()
