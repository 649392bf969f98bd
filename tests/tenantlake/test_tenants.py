"""Tenant YAML validation: good files load; each bad file gives its exact, actionable error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantlake.cli import app
from tenantlake.tenants import (
    TenantConfigError,
    TenantIdError,
    load_tenant_file,
    load_tenants,
    validate_tenant_id,
)

GOOD = """\
id: acme
display_name: ACME Distribution
partner: {id: northbridge, name: Northbridge Consulting}
industry: distribution
reporting_currency: EUR
timezone: Europe/Berlin
share_training_data: true
sources:
  orders_export:
    kind: file
    path: orders/*.csv
    format: csv
    csv: {delimiter: ";", encoding: latin-1}
    date_format: "%d.%m.%Y"
    decimal_separator: ","
    entities:
      orders:
        columns: {order_id: Auftrag, customer_id: Kunde, order_date: Datum}
        value_maps: {status: {O: open, V: shipped}}
        expressions: {order_amount: "Menge * Preis"}
      order_lines:
        columns: {order_id: Auftrag, line_number: Pos, sku: Artikel, quantity_ordered: Menge}
kpi_targets: {perfect_order_rate: 0.95}
alerts:
  channels:
    ops: {type: webhook, url_env: ACME_WEBHOOK_URL, secret_env: ACME_WEBHOOK_SECRET}
  rules:
    - {name: stockout-risk, model: stockout, min_probability: 0.7, channel: ops}
"""


def write(tmp_path: Path, text: str, name: str = "acme.yml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def problems_of(path: Path) -> list[str]:
    with pytest.raises(TenantConfigError) as exc:
        load_tenant_file(path)
    return [str(p) for p in exc.value.problems]


def test_good_file_loads(tmp_path):
    cfg = load_tenant_file(write(tmp_path, GOOD))
    assert cfg.id == "acme"
    assert cfg.entities == ["orders", "order_lines"]
    src = cfg.sources["orders_export"]
    assert src.csv.delimiter == ";" and src.decimal_separator == ","
    assert cfg.alerts.rules[0].channel == "ops"
    assert cfg.drop_dir(tmp_path) == tmp_path / "drops" / "acme"


def test_repo_tenant_files_are_valid():
    tenants = load_tenants(Path(__file__).resolve().parents[2] / "tenants")
    assert len(tenants) >= 3
    assert len({t.partner.id for t in tenants.values()}) >= 2


BAD_CASES = [
    # (what to break, replacement, expected field, expected message fragment)
    ("id: acme", "id: ACME", "id", "invalid tenant id 'ACME'"),
    ("industry: distribution", "industry: bakery", "industry", "Input should be 'distribution'"),
    ("reporting_currency: EUR", "reporting_currency: euro", "reporting_currency",
     "String should match pattern"),
    ("timezone: Europe/Berlin", "timezone: Mars/Base", "timezone",
     "'Mars/Base' is not an IANA time zone"),
    ("    format: csv\n", "    format: csvx\n", "sources.orders_export.format",
     "Input should be 'csv'"),
    ("      orders:\n        columns: {order_id: Auftrag, customer_id: Kunde, order_date: Datum}",
     "      orders:\n        columns: {order_id: Auftrag, customer_id: Kunde}",
     "sources.orders_export.entities", "required column(s) order_date not mapped"),
    ("      order_lines:", "      order_linez:", "sources.orders_export.entities",
     "unknown entity 'order_linez'"),
    ("value_maps: {status: {O: open, V: shipped}}", "value_maps: {stat: {O: open}}",
     "sources.orders_export.entities", "stat not in the orders contract"),
    ("    csv: {delimiter: \";\", encoding: latin-1}", "    csv: {delimiter: \";;\"}",
     "sources.orders_export.csv.delimiter", "delimiter must be a single character"),
    ("    csv: {delimiter: \";\", encoding: latin-1}", "    csv: {encoding: klingon}",
     "sources.orders_export.csv.encoding", "unknown encoding 'klingon'"),
    ("url_env: ACME_WEBHOOK_URL", "url_env: https://hooks.example/abc", "alerts.channels.ops.url_env",
     "is not an environment variable name"),
    ("channel: ops}", "channel: pager}", "alerts",
     "uses channel 'pager', which is not defined under alerts.channels"),
    ("min_probability: 0.7, ", "", "alerts.rules[0]", "a model rule needs min_probability"),
    ("share_training_data: true", "share_training_data: true\nbudget: 12", "budget",
     "Extra inputs are not permitted"),
    ("    path: orders/*.csv\n", "", "sources.orders_export", "a file source needs 'path'"),
    ("partner: {id: northbridge, name: Northbridge Consulting}",
     "partner: {id: North Bridge, name: x}", "partner.id", "must be a slug"),
]


@pytest.mark.parametrize("old,new,field,message", BAD_CASES, ids=[c[3][:40] for c in BAD_CASES])
def test_bad_file_reports_field_and_message(tmp_path, old, new, field, message):
    assert old in GOOD, old
    probs = problems_of(write(tmp_path, GOOD.replace(old, new, 1)))
    hits = [p for p in probs if f": {field}: " in p and message in p]
    assert hits, f"expected '{field}: ...{message}...' in {probs}"
    assert all(p.startswith(str(tmp_path / "acme.yml")) for p in probs)


def test_not_yaml_names_line(tmp_path):
    probs = problems_of(write(tmp_path, "id: acme\n  display_name: [oops\n"))
    assert "line" in probs[0] and "not valid YAML" in probs[0]


def test_file_name_must_match_id(tmp_path):
    probs = problems_of(write(tmp_path, GOOD, name="other.yml"))
    assert probs == [f"{tmp_path / 'other.yml'}: id: id 'acme' does not match the file name "
                     "'other.yml' (fix: rename the file to acme.yml or change the id)"]


def test_several_problems_reported_at_once(tmp_path):
    text = GOOD.replace("industry: distribution", "industry: bakery").replace(
        "timezone: Europe/Berlin", "timezone: Nowhere")
    fields = {p.split(": ")[1] for p in problems_of(write(tmp_path, text))}
    assert {"industry", "timezone"} <= fields


@pytest.mark.parametrize("bad", ["../x", "A", "", "a/b", "a b", "-a", "a" * 64, "x\n", None, 7])
def test_slug_rules_refuse(bad):
    with pytest.raises(TenantIdError):
        validate_tenant_id(bad)


@pytest.mark.parametrize("good", ["a", "acme", "acme-distribution", "t_01", "9lives", "a" * 63])
def test_slug_rules_accept(good):
    assert validate_tenant_id(good) == good


def test_cli_validate_exit_codes(tmp_path):
    runner = CliRunner()
    good = write(tmp_path, GOOD)
    res = runner.invoke(app, ["tenants", "validate", str(good)])
    assert res.exit_code == 0, res.output
    bad = write(tmp_path, GOOD.replace("id: acme", "id: ../etc"), name="bad.yml")
    res = runner.invoke(app, ["tenants", "validate", str(good), str(bad)])
    assert res.exit_code == 1
    assert "invalid tenant id '../etc'" in res.output


def test_cli_add_scaffold_validates(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["tenants", "add", "new-client", "--directory", str(tmp_path)])
    assert res.exit_code == 0, res.output
    cfg = load_tenant_file(tmp_path / "new-client.yml")
    assert cfg.id == "new-client" and cfg.entities == ["orders"]
    res = runner.invoke(app, ["tenants", "add", "../evil", "--directory", str(tmp_path)])
    assert res.exit_code == 2 and not (tmp_path.parent / "evil.yml").exists()
