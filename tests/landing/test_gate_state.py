"""Durable gate state: a failed batch is blocked, stays blocked, is never read downstream, and
leaves that state only through a corrected file or an audited release."""

from __future__ import annotations

import json

import duckdb
import yaml
from landing_helpers import D1, check, csv_source, invariant, lines_csv, make_tenant, raw_rows
from typer.testing import CliRunner

from tenantlake import store
from tenantlake.cli import app
from tenantlake.landing import land_tenant
from tenantlake.landing.core import release_batch

runner = CliRunner()
STRICT = {"max_bad_share": 0.05}


def _land(home, tenant):
    rep = land_tenant(tenant, home, run_gx=False)
    invariant(rep)
    return rep.entities["order_lines"], rep


def _held_rows(home) -> int:
    files = list((home.lake / "held" / "order_lines").rglob("*.parquet"))
    return duckdb.sql("SELECT count(*) FROM read_parquet(?)",
                      params=[[str(f) for f in files]]).fetchone()[0] if files else 0


def _failed(rep) -> list[tuple[str, str]]:
    return [(c.name, c.description) for c in rep.gate.checks if c.blocking and not c.passed]


def _bad_file(n_good: int = 5, n_bad: int = 2, start: int = 0) -> str:
    return lines_csv(n_good, start=start) + "".join(
        f"B{i},1,S,-1,1,{D1}\n" for i in range(n_bad))


def test_failed_batch_is_held_blocked_and_fails_the_same_way_on_every_rerun(tl_home, drop):
    tenant = make_tenant({"erp": csv_source()}, quality=STRICT)
    (drop / "bad.csv").write_text(_bad_file())
    (drop / "good.csv").write_text(lines_csv(40, start=100))
    rep, _ = _land(tl_home, tenant)
    assert not rep.gate.passed and len(rep.blocked_batches) == 1
    assert (rep.rows_landed, rep.rows_held, rep.rows_quarantined) == (40, 5, 2)
    # the good file landed, the bad one waits in held: never in raw, which dbt reads
    assert raw_rows(tl_home) == 40 and _held_rows(tl_home) == 5
    first = _failed(rep)
    assert first == [("bad_share", "bad.csv: 2 of 7 rows quarantined (28.6%; limit 5.0% in "
                                    "quality.max_bad_share)")]
    (entry,) = store.ledger_blocked("acme", "order_lines", url=tl_home.store_url)
    assert entry.status == "blocked" and entry.source_label == "bad.csv"
    for _ in range(2):
        again, report = _land(tl_home, tenant)
        assert again.units_skipped == 2 and not report.passed
        assert _failed(again) == first
        assert raw_rows(tl_home) == 40


def test_corrected_file_replaces_the_blocked_batch(tl_home, drop):
    tenant = make_tenant({"erp": csv_source()}, quality=STRICT)
    (drop / "a.csv").write_text(_bad_file())
    rep, _ = _land(tl_home, tenant)
    blocked = rep.blocked_batches[0]
    (drop / "a.csv").write_text(lines_csv(7))
    rep, report = _land(tl_home, tenant)
    assert report.passed and rep.blocked_batches == [] and rep.rows_landed == 7
    assert raw_rows(tl_home) == 7 and _held_rows(tl_home) == 0
    assert store.ledger_for_batch("acme", blocked, url=tl_home.store_url) == []
    assert _land(tl_home, tenant)[1].passed


def test_stale_batch_stays_blocked_until_released_and_release_is_audited(tl_home, drop):
    tenant = make_tenant({"erp": csv_source()},
                         quality={"freshness_hours": {"order_lines": 48}})
    (drop / "old.csv").write_text(lines_csv(6, date="2020-01-01"))
    rep, _ = _land(tl_home, tenant)
    first = _failed(rep)
    assert [n for n, _ in first] == ["freshness"] and "2020-01-01" in first[0][1]
    assert raw_rows(tl_home) == 0 and _held_rows(tl_home) == 6
    again, _ = _land(tl_home, tenant)
    assert _failed(again) == first
    batch = rep.blocked_batches[0]
    released = release_batch(tenant, tl_home, batch, reason="historical backfill, agreed",
                             actor="ops@example")
    assert [r.entity for r in released] == ["order_lines"]
    assert raw_rows(tl_home) == 6 and _held_rows(tl_home) == 0
    (audit,) = store.audit_entries("acme", url=tl_home.store_url)
    assert (audit["action"], audit["actor"], audit["batch_id"]) == ("release", "ops@example",
                                                                     batch)
    assert audit["reason"] == "historical backfill, agreed"
    assert json.loads(audit["blocked_reasons"])[0]["check"] == "freshness"
    after, report = _land(tl_home, tenant)
    assert report.passed and after.units_skipped == 1 and raw_rows(tl_home) == 6


def test_release_of_another_tenants_or_unknown_batch_is_refused(tl_home, drop):
    import pytest

    from tenantlake.landing import LandingError

    tenant = make_tenant({"erp": csv_source()}, quality=STRICT)
    (drop / "a.csv").write_text(_bad_file())
    batch = _land(tl_home, tenant)[0].blocked_batches[0]
    other = make_tenant({"erp": csv_source()}, tenant_id="beta")
    with pytest.raises(LandingError, match="no blocked batch"):
        release_batch(other, tl_home, batch, reason="x", actor="me")
    with pytest.raises(LandingError, match="needs a reason"):
        release_batch(tenant, tl_home, batch, reason="  ", actor="me")
    assert raw_rows(tl_home) == 0


def test_row_count_collapse_is_not_history_for_the_next_batch(tl_home, drop):
    tenant = make_tenant({"erp": csv_source()})
    (drop / "a.csv").write_text(lines_csv(100))
    _land(tl_home, tenant)
    (drop / "b.csv").write_text(lines_csv(3, start=500))
    rep, _ = _land(tl_home, tenant)
    assert [n for n, _ in _failed(rep)] == ["row_count"]
    assert store.recent_median_rows("acme", "order_lines", url=tl_home.store_url) == 100


def test_cli_blocked_rerun_same_exit_and_message_then_release(tl_home, drop, tmp_path,
                                                              monkeypatch):
    d = tmp_path / "tenants"
    d.mkdir()
    tenant = make_tenant({"erp": csv_source()}, quality=STRICT)
    (d / "acme.yml").write_text(yaml.safe_dump(tenant.model_dump(mode="json")))
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(d))
    (drop / "a.csv").write_text(_bad_file())
    outs = [runner.invoke(app, ["land", "acme", "--no-gx"]) for _ in range(2)]
    assert [r.exit_code for r in outs] == [1, 1]
    lines = [[ln for ln in r.stdout.splitlines() if ln.startswith("order_lines: bad_share")]
             for r in outs]
    assert lines[0] and lines[0] == lines[1]
    batch = json.loads(runner.invoke(app, ["land", "acme", "--json", "--no-gx"]).stdout)[
        "entities"]["order_lines"]["blocked_batches"][0]
    res = runner.invoke(app, ["land", "status", "acme"])
    assert res.exit_code == 0 and batch in res.stdout and "bad_share" in res.stdout
    res = runner.invoke(app, ["land", "release", "acme", batch])
    assert res.exit_code == 2  # --reason is required
    monkeypatch.setenv("TENANTLAKE_ACTOR", "ops-lead")
    res = runner.invoke(app, ["land", "release", "acme", batch, "--reason", "known refunds"])
    assert res.exit_code == 0 and "released" in res.stdout
    assert runner.invoke(app, ["land", "acme", "--no-gx"]).exit_code == 0
    res = runner.invoke(app, ["land", "status", "acme"])
    assert "release" in res.stdout and "ops-lead" in res.stdout and "known refunds" in res.stdout
    assert raw_rows(tl_home) == 5
    assert check(land_tenant(tenant, tl_home, run_gx=False).entities["order_lines"],
                 "bad_share").passed
