"""A corpus of broken exports, each with its exact landing outcome.

Every :class:`Case` builds its files (bytes made here, nothing downloaded), names the source
options and mapping it is landed with, and states the outcome: rows in, landed, quarantined,
exact copies dropped, the quarantine rules (with field and a piece of the reason) — or the error
that refuses the file, with the YAML option it names. ``tests/landing/test_corpus_files.py``
lands every case and checks it; ``rows in = landed + quarantined + dropped`` on every file.

Write the corpus to a folder to look at it (one sub-folder per case)::

    .venv/bin/python tests/landing/corpus.py /tmp/corpus
"""

from __future__ import annotations

import gzip
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Fixed business date of the corpus rows (never today's date: the outcome must not change
#: with the calendar); old enough to be in the past, with no freshness SLA set.
DAY = "2024-03-01"
HEADER = "order_id,line,sku,qty,price,order_date"
COLUMNS = {"order_id": "order_id", "line_number": "line", "sku": "sku",
           "quantity_ordered": "qty", "unit_price": "price", "order_date": "order_date"}


def rows(n: int, start: int = 0, sep: str = ",") -> list[str]:
    return [sep.join([f"O{i}", "1", f"SKU{i % 7}", str(i % 5 + 1), "9.5", DAY])
            for i in range(start, start + n)]


def csv(*lines: str, header: str = HEADER, eol: str = "\n") -> bytes:
    return (eol.join([header, *lines]) + eol).encode()


def good(n: int = 5) -> bytes:
    return csv(*rows(n))


def _parquet(columns: dict[str, Any]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _typed(price: Any = None, date: Any = None, qty: Any = None, n: int = 3) -> bytes:
    import datetime as dt

    import pyarrow as pa

    return _parquet({
        "order_id": [f"O{i}" for i in range(n)], "line": [1] * n,
        "sku": [f"S{i}" for i in range(n)],
        "qty": qty if qty is not None else [1.0] * n,
        "price": price if price is not None else [9.5] * n,
        "order_date": date if date is not None else pa.array(
            [dt.date(2024, 3, 1)] * n, pa.date32())})


def _xlsx(header: list[str], data: list[list[Any]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in data:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class Case:
    name: str
    #: file name -> bytes (built lazily: some need pyarrow/openpyxl)
    files: Any
    #: (rows_in, landed, quarantined, exact copies dropped); None when the file is refused
    counts: tuple[int, int, int, int] | None = None
    #: (rule, field, how many, a piece of the reason) per quarantine rule
    quarantine: list[tuple[str, str, int, str]] = field(default_factory=list)
    #: refused: pieces the error must contain (what went wrong, the option that fixes it)
    error: tuple[str, ...] = ()
    fmt: str = "csv"
    source: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, Any] = field(default_factory=dict)
    #: the batch's gate must pass (False: blocked, e.g. a required column is missing)
    passes: bool = True

    def build(self) -> dict[str, bytes]:
        return self.files() if callable(self.files) else self.files


UTF16_CSV = (HEADER + "\n" + "\n".join(rows(5)) + "\n")
PRICE_BOOL = ("column 'price' is Boolean in the file", "typed sources are cast strictly",
              "lenient: [unit_price]")

CASES: list[Case] = [
    # ------------------------------------------------------------ shape of the file
    Case("clean", {"a.csv": good()}, (5, 5, 0, 0)),
    Case("truncated_last_row", {"a.csv": good() + b"O9,1,SKU1,3"}, (6, 5, 1, 0),
         [("malformed_row", "", 1, "expected 6 fields, got 4")]),
    Case("row_with_extra_field", {"a.csv": csv(*rows(3), f"O8,1,S,1,9.5,{DAY},extra")},
         (4, 3, 1, 0), [("malformed_row", "", 1, "expected 6 fields, got 7")]),
    Case("wrong_delimiter", {"a.csv": csv(*rows(4, sep=";"), header=HEADER.replace(",", ";"))},
         (4, 0, 4, 0), [("missing_required_column", "order_id", 4, "';'-delimited")],
         passes=False),
    Case("header_only", {"a.csv": csv()}, (0, 0, 0, 0)),
    Case("zero_bytes", {"a.csv": b""}, error=("a.csv is empty (0 bytes)", "re-export")),
    Case("crlf_line_ends", {"a.csv": csv(*rows(5), eol="\r\n")}, (5, 5, 0, 0)),
    Case("blank_lines", {"a.csv": csv(rows(2)[0], "", rows(2, 2)[0], "", "")}, (2, 2, 0, 0)),
    Case("gzip_without_gz_suffix", {"a.csv": gzip.compress(good())}, (5, 5, 0, 0)),
    Case("parquet_bytes_in_csv", lambda: {"a.csv": _typed()},
         error=("is Parquet", "set format: parquet")),
    Case("xlsx_bytes_in_csv", lambda: {"a.csv": _xlsx(HEADER.split(","), [])},
         error=("Excel (zip) workbook", "format: xlsx")),
    Case("duplicated_header", {"a.csv": csv(f"O1,1,S,1,2,{DAY},3",
                                            header=HEADER + ",qty")},
         error=("names column 'qty' twice (columns 4 and 7)", "csv.header: false")),
    Case("field_longer_than_read_block",
         # an unbalanced quote early in a block swallows > 2 MiB of lines into one field
         {"a.csv": csv(*rows(60_000)) + b'O7,1,"' + b"xxxxxxx\n" * 400_000
          + f'",1,1,{DAY}\n'.encode()},
         error=("near byte offset", "longer than the 2 MiB read block", "csv.quote_char")),
    # ------------------------------------------------------------ encodings and BOMs
    Case("utf8_bom", {"a.csv": b"\xef\xbb\xbf" + good()}, (5, 5, 0, 0)),
    Case("utf16_le_bom", {"a.csv": UTF16_CSV.encode("utf-16")}, (5, 5, 0, 0)),
    Case("utf16_be_bom", {"a.csv": b"\xfe\xff" + UTF16_CSV.encode("utf-16-be")}, (5, 5, 0, 0)),
    Case("utf32_le_bom", {"a.csv": b"\xff\xfe\x00\x00" + UTF16_CSV.encode("utf-32-le")},
         (5, 5, 0, 0)),
    Case("utf16_bom_but_latin1_declared", {"a.csv": UTF16_CSV.encode("utf-16")},
         error=("UTF-16 byte-order mark", "csv.encoding: utf-16"),
         source={"csv": {"encoding": "latin-1"}}),
    Case("utf16_without_bom", {"a.csv": UTF16_CSV.encode("utf-16-le")},
         error=("without a byte-order mark", "csv.encoding")),
    Case("one_latin1_value", {"a.csv": good(3) + f"O7,1,M\xfcller,1,2.0,{DAY}\n".encode(
        "latin-1")}, (4, 3, 1, 0), [("invalid_encoding", "sku", 1, "set csv.encoding")]),
    # ------------------------------------------------------------ values
    Case("nan_price", {"a.csv": csv(*rows(3), f"O8,1,S,1,NaN,{DAY}")}, (4, 3, 1, 0),
         [("type", "unit_price", 1, "cannot parse 'NaN' as float")]),
    Case("infinite_prices", {"a.csv": csv(*rows(3), f"O7,1,S,1,inf,{DAY}",
                                          f"O8,1,S,1,Infinity,{DAY}",
                                          f"O9,1,S,1,-Infinity,{DAY}")},
         (6, 3, 3, 0), [("type", "unit_price", 3, "as float")]),
    Case("nan_quantity_int_line", {"a.csv": csv(*rows(2), f"O8,nan,S,1,1,{DAY}",
                                                f"O9,1.5,S,1,1,{DAY}")},
         (4, 2, 2, 0), [("type", "line_number", 2, "as int")]),
    Case("negative_quantity", {"a.csv": csv(*rows(3), f"O8,1,S,-2,1,{DAY}")}, (4, 3, 1, 0),
         [("min_value", "quantity_ordered", 1, "-2.0 is below the minimum 0")]),
    Case("huge_field", {"a.csv": csv(*rows(2), f"O8,1,{'x' * 20_000},1,1,{DAY}")},
         (3, 2, 1, 0), [("field_too_long", "sku", 1, "longer than 10000")]),
    Case("nul_bytes", {"a.csv": csv(*rows(2), f"O8,1,SK\x00U,1,1,{DAY}")}, (3, 2, 1, 0),
         [("control_characters", "sku", 1, "NUL byte")]),
    Case("bad_dates", {"a.csv": csv(*rows(2), "O8,1,S,1,1,31.02.2024", "O9,1,S,1,1,yesterday")},
         (4, 2, 2, 0), [("type", "order_date", 2, "as date")]),
    Case("future_date", {"a.csv": csv(*rows(2), "O8,1,S,1,1,2099-01-01")}, (3, 2, 1, 0),
         [("not_future", "order_date", 1, "in the future")]),
    Case("null_required", {"a.csv": csv(*rows(2), f",1,S,1,1,{DAY}")}, (3, 2, 1, 0),
         [("required", "order_id", 1, "required value is missing")]),
    Case("thousands_separator_undeclared", {"a.csv": csv(*rows(2), f'O8,1,S,1,"1,234.5",{DAY}')},
         (3, 2, 1, 0), [("type", "unit_price", 1, "cannot parse '1,234.5'")]),
    Case("thousands_separator_declared", {"a.csv": csv(*rows(2), f'O8,1,S,1,"1,234.5",{DAY}')},
         (3, 3, 0, 0), source={"thousands_separator": ","}),
    # ------------------------------------------------------------ columns
    Case("missing_required_column", {"a.csv": csv("O1,1,1,2," + DAY,
                                                  header="order_id,line,qty,price,order_date")},
         (1, 0, 1, 0), [("missing_required_column", "sku", 1, "required column missing")],
         passes=False),
    Case("mapped_optional_column_absent", {"a.csv": good(2)}, (2, 0, 2, 0),
         [("missing_required_column", "is_promo", 2, "absent_ok")],
         mapping={"columns": {**COLUMNS, "is_promo": "promo"}}, passes=False),
    Case("mapped_optional_column_absent_ok", {"a.csv": good(2)}, (2, 2, 0, 0),
         mapping={"columns": {**COLUMNS, "is_promo": "promo"}, "absent_ok": ["is_promo"]}),
    # ------------------------------------------------------------ duplicate keys
    Case("exact_copies", {"a.csv": csv(*rows(4), *rows(2))}, (6, 4, 0, 2)),
    Case("conflicts_rejected", {"a.csv": csv(*rows(3), f"O1,1,OTHER,9,9,{DAY}")}, (4, 2, 2, 0),
         [("conflicting_duplicate_key", "order_id,line_number", 2, "reject_conflicts")]),
    Case("conflicts_first", {"a.csv": csv(*rows(3), f"O1,1,OTHER,9,9,{DAY}")}, (4, 3, 1, 0),
         [("duplicate_key", "order_id,line_number", 1, "duplicates: first")],
         mapping={"duplicates": "first"}),
    Case("conflicts_last_with_copy", {"a.csv": csv(*rows(3), f"O1,1,OTHER,9,9,{DAY}",
                                                   rows(3)[1])}, (5, 3, 1, 1),
         [("duplicate_key", "order_id,line_number", 1, "duplicates: last")],
         mapping={"duplicates": "last"}),
    # ------------------------------------------------------------ tenant rules
    Case("rule_pattern", {"a.csv": csv(*rows(3), f"O8,1,bad sku,1,1,{DAY}")}, (4, 3, 1, 0),
         [("pattern", "sku", 1, "does not match the pattern SKU[0-9]+")],
         mapping={"rules": {"sku": {"pattern": "SKU[0-9]+"}}}),
    Case("rule_allowed", {"a.csv": csv(*rows(3), f"O8,1,SKU99,1,1,{DAY}")}, (4, 3, 1, 0),
         [("allowed_values", "sku", 1, "entities.order_lines.rules.sku.allowed")],
         mapping={"rules": {"sku": {"allowed": [f"SKU{i}" for i in range(7)]}}}),
    Case("rule_max", {"a.csv": csv(*rows(3), f"O8,1,S,1,25000,{DAY}")}, (4, 3, 1, 0),
         [("max_value", "unit_price", 1, "above the maximum 10000")],
         mapping={"rules": {"unit_price": {"max": 10000}}}),
    Case("rule_required_optional_column", {"a.csv": csv(*rows(2), f"O8,1,S,1,,{DAY}")},
         (3, 2, 1, 0), [("required", "unit_price", 1, "rules.unit_price.required")],
         mapping={"rules": {"unit_price": {"required": True}}}),
    # ------------------------------------------------------------ typed sources (Parquet)
    Case("parquet_bool_amount", lambda: {"a.parquet": _typed(price=[True, False, True])},
         error=PRICE_BOOL, fmt="parquet"),
    Case("parquet_bool_amount_lenient", lambda: {"a.parquet": _typed(price=[True, False, True])},
         (3, 3, 0, 0), fmt="parquet", mapping={"lenient": ["unit_price"]}),
    Case("parquet_float_dates", lambda: {"a.parquet": _typed(date=[45352.0] * 3)},
         error=("'order_date' is Float64 in the file", "order_date is date",
                "lenient: [order_date]"),
         fmt="parquet"),
    Case("parquet_int_amount", lambda: {"a.parquet": _typed(price=[1, 2, 3])}, (3, 3, 0, 0),
         fmt="parquet"),
    Case("parquet_nan_amount", lambda: {"a.parquet": _typed(price=[1.0, float("nan"),
                                                                  float("inf")])},
         (3, 1, 2, 0), [("type", "unit_price", 2, "as float")], fmt="parquet"),
    Case("parquet_string_quantity", lambda: {"a.parquet": _typed(qty=["1", "x", "2.5"])},
         (3, 2, 1, 0), [("type", "quantity_ordered", 1, "cannot parse 'x'")], fmt="parquet"),
    Case("parquet_truncated", lambda: {"a.parquet": _typed()[:-20]},
         error=("cannot read a.parquet",), fmt="parquet"),
    # ------------------------------------------------------------ JSON and Excel
    Case("jsonl_broken_line", {"a.jsonl": (
        b'{"order_id": "O1", "line": 1, "sku": "S", "qty": 1, "price": 1, "order_date": "'
        + DAY.encode() + b'"}\n{"order_id": "O2", "line": 1, "sku"\n')},
         (2, 1, 1, 0), [("malformed_row", "", 1, "invalid JSON")], fmt="jsonl"),
    Case("jsonl_utf16_bom", {"a.jsonl": (
        '{"order_id": "O1", "line": 1, "sku": "S", "qty": 1, "price": 1, "order_date": "'
        + DAY + '"}\n').encode("utf-16")}, (1, 1, 0, 0), fmt="jsonl"),
    Case("json_array_not_closed", {"a.json": (
        b'[{"order_id": "O1", "line": 1, "sku": "S", "qty": 1, "price": 1, "order_date": "'
        + DAY.encode() + b'"}, {"order_id": "O2"')},
         error=("cannot read a.json",), fmt="json"),
    Case("xlsx_duplicated_header", lambda: {"a.xlsx": _xlsx(
        ["order_id", "line", "sku", "qty", "qty", "price", "order_date"],
        [["O1", 1, "S", 1, 2, 9.5, DAY]])},
         error=("names column 'qty' twice", "rename one of them in the sheet"), fmt="xlsx"),
]


def write(out: Path) -> None:
    """Write every case's files under ``out/<case name>/``."""
    for case in CASES:
        d = out / case.name
        d.mkdir(parents=True, exist_ok=True)
        for name, data in case.build().items():
            (d / name).write_bytes(data)


if __name__ == "__main__":  # pragma: no cover - a helper to look at the corpus
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "corpus"))
    print(f"{len(CASES)} cases")
