"""The drop-folder sensor and the schedules, evaluated for every shipped tenant."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import dagster as dg

from tenantlake.settings import PROJECT_ROOT
from tenantlake.tenants import load_tenants

SHIPPED = sorted(p.stem for p in (PROJECT_ROOT / "tenants").glob("*.yml"))


def _touch(path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n")
    os.utime(path, (mtime, mtime))


def test_drop_folder_sensor_requests_one_run_per_tenant_with_new_files(tl_home, monkeypatch,
                                                                       tmp_path):
    from pipelines.jobs import drop_folder_sensor

    tenants_dir = tmp_path / "tenants"
    shutil.copytree(PROJECT_ROOT / "tenants", tenants_dir)
    # a broken tenant file next to the good ones stops none of them
    (tenants_dir / "broken.yml").write_text("id: broken\ndisplay_name: B\nkpi_targets: {x: 1}\n")
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(tenants_dir))
    tenants = load_tenants(skip_invalid=True)
    assert sorted(tenants) == SHIPPED and len(SHIPPED) >= 3
    for i, (tid, cfg) in enumerate(sorted(tenants.items())):
        # no tenant sets drop_folder: each falls back to <home>/drops/<id>
        assert cfg.drop_folder is None
        _touch(cfg.drop_dir(tl_home) / "export.csv", 1_700_000_000 + i)

    ctx = dg.build_sensor_context(cursor=None)
    requests = list(drop_folder_sensor(ctx))
    assert sorted(r.partition_key for r in requests) == SHIPPED
    assert len({r.run_key for r in requests}) == len(SHIPPED)

    # nothing new: no run; one tenant's new file: a run for that tenant alone
    again = dg.build_sensor_context(cursor=ctx.cursor)
    assert list(drop_folder_sensor(again)) == []
    _touch(tenants[SHIPPED[1]].drop_dir(tl_home) / "more" / "next.csv", 1_800_000_000)
    third = dg.build_sensor_context(cursor=again.cursor)
    assert [r.partition_key for r in drop_folder_sensor(third)] == [SHIPPED[1]]


def test_schedules_request_every_tenant_once_per_tick():
    from pipelines.jobs import daily_scoring, hourly_pull

    when = dt.datetime(2026, 3, 2, 5, 30, tzinfo=dt.timezone.utc)
    for schedule, job in ((hourly_pull, "tenant_pipeline"), (daily_scoring, "score_tenant")):
        ctx = dg.build_schedule_context(scheduled_execution_time=when)
        reqs = list(schedule(ctx))
        assert sorted(r.partition_key for r in reqs) == SHIPPED
        assert all(r.run_key == f"{job}:{r.partition_key}:2026-03-02T05" for r in reqs)


def test_invalid_tenant_files_are_named_with_their_problems(tmp_path):
    from tenantlake.orchestrate import invalid_tenant_files

    shutil.copytree(PROJECT_ROOT / "tenants", tmp_path / "t")
    (tmp_path / "t" / "broken.yml").write_text(
        "id: broken\ndisplay_name: B\npartner: {id: p, name: P}\nindustry: other\n"
        "reporting_currency: EUR\nkpi_targets: {otif_rate: 0.9}\n")
    bad = invalid_tenant_files(tmp_path / "t")
    assert list(bad) == [str(tmp_path / "t" / "broken.yml")]
    assert "unknown KPI(s) otif_rate" in str(bad[str(tmp_path / "t" / "broken.yml")][0])
    assert sorted(load_tenants(tmp_path / "t", skip_invalid=True)) == SHIPPED
