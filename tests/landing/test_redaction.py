"""Secrets never reach a log, a Dagster event, a report or the console.

Sources are configured with fake secrets in every URL form (user info, bare token as user,
``?password=``, ``&api_key=``, ``signature=``, a DSN keyword, the auth token itself), pointed at
a closed port on 127.0.0.1 so that they fail, and every output is scanned for the secrets.
"""

from __future__ import annotations

import json
import logging
import socket

import pytest
import yaml
from landing_helpers import make_tenant
from typer.testing import CliRunner

from tenantlake.cli import app
from tenantlake.landing import land_tenant
from tenantlake.redact import MASK, escape_text, redact, register_secret

runner = CliRunner()

SECRETS = {
    "userinfo_pw": "Pw-Userinfo-7781",
    "query_pw": "Pw-Query-5521",
    "api_key": "Key-Api-9034",
    "signature": "Sig-Abc-4410",
    "bare_token": "Tok-Bare-3321",
    "auth_token": "Bearer-Auth-6613",
    "dsn_pw": "Pw-Dsn-1207",
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("text, leaked", [
    ("postgresql://bob:{userinfo_pw}@db:5432/x", "userinfo_pw"),
    ("https://{bare_token}@api.example/v1", "bare_token"),
    ("postgresql://db/x?sslmode=require&password={query_pw}", "query_pw"),
    ("https://api.example/v1?page=2&api_key={api_key}", "api_key"),
    ("https://s3.example/o?X-Amz-Signature={signature}&X-Amz-Expires=60", "signature"),
    ("host=db port=5432 password={dsn_pw} user=u", "dsn_pw"),
    ('{{"token": "{bare_token}"}}', "bare_token"),
    ("Authorization: Bearer {auth_token}", "auth_token"),
])
def test_redact_every_form(text, leaked):
    register_secret(SECRETS["auth_token"])
    out = redact(text.format(**SECRETS))
    assert SECRETS[leaked] not in out and MASK in out, out


def test_registered_secret_is_masked_anywhere_also_url_encoded():
    register_secret("p@ss/w0rd+x")
    out = redact("failed: p@ss/w0rd+x and p%40ss%2Fw0rd%2Bx in a path")
    assert "w0rd" not in out


def test_keys_and_values_that_are_not_secrets_stay():
    text = "duplicate key (order_id=O1, line_number=1); amount=12.5 url https://api.example/v1?page=2"
    assert redact(text) == text


def test_escape_text_shows_control_characters():
    assert escape_text("a\x00b\x1b[2Jc\td") == "a\\x00b\\x1b[2Jc\\td"


def _sources(port: int) -> dict:
    db = (f"postgresql+psycopg://bob:{SECRETS['userinfo_pw']}@127.0.0.1:{port}/erp"
          f"?password={SECRETS['query_pw']}&connect_timeout=2")
    return db, {
        "api": {"kind": "api",
                "url": f"http://{SECRETS['bare_token']}@127.0.0.1:{port}/orders"
                       f"?api_key={SECRETS['api_key']}&signature={SECRETS['signature']}",
                "auth_env": "ACME_API_TOKEN",
                "pagination": {"max_attempts": 1},
                "entities": {"orders": {"columns": {"order_id": "id", "customer_id": "c",
                                                    "order_date": "d"}}}},
        "erp": {"kind": "sql", "url_env": "ACME_DB_URL", "query_table": "orders",
                "entities": {"customers": {"columns": {"customer_id": "id",
                                                       "customer_name": "n"}}}},
    }


def _assert_clean(where: str, text: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked into {where}: ...{text[:2000]}"


def test_failing_sources_leak_no_secret_anywhere(tl_home, tmp_path, monkeypatch, caplog):
    port = _closed_port()
    db, sources = _sources(port)
    monkeypatch.setenv("ACME_DB_URL", db)
    monkeypatch.setenv("ACME_API_TOKEN", SECRETS["auth_token"])
    monkeypatch.setenv("ACME_DSN", f"host=db password={SECRETS['dsn_pw']}")
    tenant = make_tenant(sources)
    d = tmp_path / "tenants"
    d.mkdir()
    (d / "acme.yml").write_text(yaml.safe_dump(tenant.model_dump(mode="json")))
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(d))
    caplog.set_level(logging.DEBUG)

    report = land_tenant(tenant, tl_home, run_gx=False)
    assert len(report.errors) == 2 and not report.passed  # both sources failed, and said so
    assert any("127.0.0.1" in e for e in report.errors)
    _assert_clean("the landing report", json.dumps(report.to_dict(), default=str))

    res = runner.invoke(app, ["land", "acme", "--json", "--no-gx"])
    assert res.exit_code == 1
    _assert_clean("the CLI's JSON", res.stdout)
    res = runner.invoke(app, ["land", "acme", "--no-gx"])
    assert res.exit_code == 1 and "pulling units failed" in res.stderr
    _assert_clean("the CLI's console", res.stdout + res.stderr)

    logging.getLogger("tenantlake.test").error("connecting to %s failed", db)
    logs = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert "pulling units failed" in logs
    _assert_clean("the log records", logs)
    _assert_clean("the log file text", caplog.text)


def test_dagster_events_leak_no_secret(tl_home, tmp_path, monkeypatch):
    import dagster as dg

    from pipelines.defs.ingest.assets import land_tenant_sources
    from pipelines.partitions import tenant_partitions
    from pipelines.resources import TenantlakeResource

    # the partition set is read from tenants/ when the definitions load: reuse its first id
    tid = tenant_partitions.get_partition_keys()[0]
    port = _closed_port()
    db, sources = _sources(port)
    monkeypatch.setenv("ACME_DB_URL", db)
    monkeypatch.setenv("ACME_API_TOKEN", SECRETS["auth_token"])
    tenant = make_tenant(sources, tenant_id=tid)
    d = tmp_path / "tenants"
    d.mkdir()
    (d / f"{tid}.yml").write_text(yaml.safe_dump(tenant.model_dump(mode="json")))
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(d))
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([land_tenant_sources], partition_key=tid, instance=instance,
                            resources={"tenantlake": TenantlakeResource()},
                            selection=["raw/orders", "raw/customers"], raise_on_error=False)
    events = instance.all_logs(result.run_id)
    text = "\n".join(e.message + " " + repr(e.dagster_event) for e in events)
    assert "quality_gate" in text and "127.0.0.1" in text
    _assert_clean("Dagster's event log", text)
