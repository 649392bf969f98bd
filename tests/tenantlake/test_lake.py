"""Lake paths stay inside the root and per tenant; writes are atomic; orphans are cleaned."""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenantlake.lake import (
    LakePathError,
    atomic_write,
    clean_orphans,
    dataset_glob,
    lake_path,
    replace_partition,
    staging_dir,
)
from tenantlake.tenants import TenantIdError


def test_lake_path_layout(tmp_path):
    p = lake_path(tmp_path, "raw", "orders", "acme", "2026-01-31")
    assert p == (tmp_path / "raw" / "orders" / "tenant=acme" / "date=2026-01-31").resolve()


@pytest.mark.parametrize("tenant", ["../x", "A", "", "a/b", "..", "a\x00"])
def test_lake_path_refuses_bad_tenants(tmp_path, tenant):
    with pytest.raises(TenantIdError):
        lake_path(tmp_path, "raw", "orders", tenant)


@pytest.mark.parametrize("layer,name,date", [
    ("secrets", "orders", None), ("raw", "../orders", None), ("raw", "Orders", None),
    ("raw", "orders", "2026-13-01"), ("raw", "orders", "../../x"),
])
def test_lake_path_refuses_bad_parts(tmp_path, layer, name, date):
    with pytest.raises((LakePathError, ValueError)):
        lake_path(tmp_path, layer, name, "acme", date)


def test_symlinked_partition_escaping_root_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "lake"
    (root / "raw" / "orders").mkdir(parents=True)
    os.symlink(outside, root / "raw" / "orders" / "tenant=acme")
    with pytest.raises(LakePathError, match="escapes the lake root"):
        lake_path(root, "raw", "orders", "acme")


def test_atomic_write_is_invisible_until_complete(tmp_path):
    target = tmp_path / "raw" / "x" / "tenant=a" / "b.parquet"
    table = pa.table({"tenant_id": ["a"] * 3, "v": [1, 2, 3]})
    with atomic_write(target) as tmp:
        pq.write_table(table, tmp)
        # a reader globbing *.parquet during the write sees nothing
        assert duckdb.sql(
            f"select count(*) from glob('{tmp_path}/raw/**/*.parquet')").fetchone()[0] == 0
    assert pq.read_table(target).num_rows == 3


def test_atomic_write_failure_leaves_nothing(tmp_path):
    target = tmp_path / "t.parquet"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_clean_orphans_and_replace_partition(tmp_path):
    part = tmp_path / "raw" / "orders" / "tenant=a" / "date=2026-01-01"
    part.mkdir(parents=True)
    (part / "old.parquet").write_bytes(b"x")
    (part / ".tmp-abc-b.parquet.part").write_bytes(b"half")
    assert clean_orphans(tmp_path) == 1
    stage = staging_dir(part)
    pq.write_table(pa.table({"v": [1]}), stage / "new.parquet")
    replace_partition(part, stage)
    assert sorted(p.name for p in part.iterdir()) == ["new.parquet"]
    assert not [p for p in part.parent.iterdir() if p.name.startswith(".tmp-")]


def test_dataset_glob_is_tenant_scoped(tmp_path):
    g = dataset_glob(tmp_path, "raw", "orders", "acme")
    assert "tenant=acme" in g
    with pytest.raises(TenantIdError):
        dataset_glob(tmp_path, "raw", "orders", "*")
