"""Read a demo tenant's exports back as canonical frames, the way its YAML says.

A deliberately small, independent reader (pandas): it honours each source's format, delimiter,
encoding, decimal separator, date formats, ``columns`` and ``value_maps``, so the tests check
that files and YAML agree without depending on the landing engine. Expressions and ``where`` are
not evaluated (callers that need them compute them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from tenantlake.contracts import CONTRACTS
from tenantlake.tenants import Source, TenantConfig


def source_files(cfg: TenantConfig, home: Path, source: Source) -> list[Path]:
    return sorted(cfg.drop_dir(home).glob(source.path))


def read_raw(path: Path, source: Source) -> pd.DataFrame:
    if source.format == "csv":
        return pd.read_csv(path, sep=source.csv.delimiter, encoding=source.csv.encoding,
                           dtype=str, keep_default_na=False, na_values=[""])
    if source.format == "jsonl":
        return pd.DataFrame([json.loads(x) for x in path.read_text("utf-8").splitlines() if x])
    return pq.read_table(path).to_pandas()


def read_entity(cfg: TenantConfig, home: Path, entity: str, raw: bool = False) -> pd.DataFrame:
    parts = []
    for source in cfg.sources.values():
        if entity not in source.entities:
            continue
        m = source.entities[entity]
        for f in source_files(cfg, home, source):
            df = read_raw(f, source)
            if raw:
                parts.append(df)
                continue
            out = pd.DataFrame(index=df.index)
            for canon, col in m.columns.items():
                s = df[col]
                if canon in m.value_maps:
                    vm = {str(k): v for k, v in m.value_maps[canon].items()}
                    s = s.map(lambda x, vm=vm: vm.get(str(x)) if x is not None and x == x
                              else None)
                out[canon] = _coerce(s, CONTRACTS[entity].column(canon).dtype, source)
            parts.append(out.assign(_file=f.name, **({"_raw_" + c: df[c] for c in df.columns})))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _coerce(s: pd.Series, dtype: str, source: Source) -> pd.Series:
    if source.format == "parquet" or source.format == "jsonl":
        if dtype in ("date", "timestamp"):
            fmt = source.date_format if dtype == "date" else source.timestamp_format
            return pd.to_datetime(s, format=fmt) if source.format == "jsonl" \
                else pd.to_datetime(s)
        return s
    if dtype in ("date", "timestamp"):
        fmt = source.date_format if dtype == "date" else source.timestamp_format
        return pd.to_datetime(s, format=fmt)
    if dtype in ("float", "int"):
        txt = s.astype("string")
        if source.decimal_separator == ",":
            txt = txt.str.replace(",", ".", regex=False)
        return pd.to_numeric(txt)
    return s
