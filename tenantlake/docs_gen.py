"""The tenant YAML reference (``docs/tenant-yaml.md``) and JSON Schema, generated from the models.

Every key of :class:`tenantlake.tenants.TenantConfig` and its nested models is listed with its
type, default, allowed values and description (the field's ``description`` or the ``#:`` comment
above it in :mod:`tenantlake.tenants`), followed by a validated example per section and the
expression functions. ``tests/tenantlake/test_docs_gen.py`` fails when the file and the models
drift apart; regenerate with ``python -m tenantlake.docs_gen``.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from tenantlake.settings import PROJECT_ROOT

DOC_PATH = PROJECT_ROOT / "docs" / "tenant-yaml.md"

#: One example per model, as YAML; each is validated against its model by the drift test.
EXAMPLES: dict[str, str] = {
    "TenantConfig": """\
id: acme-distribution
display_name: "ACME Distribution"
partner: {id: northbridge, name: "Northbridge Consulting"}
industry: distribution
reporting_currency: EUR
timezone: Europe/Berlin
sources:
  orders_export:
    kind: file
    path: orders/*.csv
    format: csv
    entities:
      orders: {columns: {order_id: OrderNo, customer_id: CustNo, order_date: OrderDate}}
kpi_targets: {perfect_order_rate: 0.95}
""",
    "Source": """\
kind: file
path: "erp/lines_*.csv"
format: csv
csv: {delimiter: ";", encoding: latin-1}
decimal_separator: ","
date_format: "%d.%m.%Y"
entities:
  order_lines:
    columns: {order_id: Beleg, line_number: Pos, sku: Artikel, quantity_ordered: Menge}
""",
    "CsvOptions": """\
delimiter: "|"
quote_char: '"'
encoding: latin-1
header: true
skip_rows: 0
null_values: ["", "NULL", "-"]
""",
    "EntityMapping": """\
columns: {order_id: Beleg, line_number: Pos, sku: Artikel, quantity_ordered: Menge}
constants: {currency: EUR}
value_maps: {status: {O: open, S: shipped}}
expressions: {net_amount: "Menge * Preis * (1 - Rabatt / 100)",
              unit_price: 'col("prices.Listenpreis")'}
formats: {promised_date: "%Y%m%d"}
where: 'Satzart == "P"'
lookups: {prices: {source: price_list, key: Artikel, by: Artikel}}
""",
    "Lookup": "source: nation_file\nkey: N_NATIONKEY\nby: C_NATIONKEY\n",
    "KpiOptions": "revenue_basis: line_net_amount\n",
    "Partner": "id: northbridge\nname: Northbridge Consulting\n",
    "Branding": 'name: ACME\nprimary_color: "#1f4e79"\nsecondary_color: "#f2a900"\n',
    "Quality": "max_bad_share: 0.05\nmin_row_ratio: 0.2\nfreshness_hours: {orders: 48}\n",
    "Channel": "type: webhook\nurl_env: ACME_WEBHOOK_URL\nsecret_env: ACME_WEBHOOK_SECRET\n",
    "AlertRule": "name: churn-risk\nmodel: churn\nmin_probability: 0.6\nchannel: ops\n",
    "Alerts": "channels: {ops: {type: email, to: [ops@example.com]}}\nrules: []\n",
    "ApprovalPolicy": "default: required\napprovers: [ops-lead@example.com]\n",
}

#: Descriptions of keys whose model field carries none (``Model.key``); a field's own
#: ``description`` or ``#:`` comment wins. The drift test fails on a key described nowhere.
DESCRIPTIONS: dict[str, str] = {
    "TenantConfig.id": "Tenant slug `^[a-z0-9][a-z0-9_-]{0,62}$`; must equal the file name.",
    "TenantConfig.display_name": "Name shown on dashboards and in alerts.",
    "TenantConfig.partner": "The implementation partner that manages this tenant.",
    "TenantConfig.industry": "Industry: picks the peer cohort of benchmarks.",
    "TenantConfig.reporting_currency": "ISO 4217 code (3 capitals) of the tenant's amounts.",
    "TenantConfig.timezone": "IANA zone of the tenant's local times (sources may override).",
    "TenantConfig.share_training_data": "May this tenant's rows train models shared with other "
                                        "tenants? If not, it gets its own model or none.",
    "TenantConfig.sources": "Where exports arrive, by source name, and how their columns map "
                            "onto the contracts (`tenantlake contracts show ENTITY`).",
    "TenantConfig.branding": "Scorecard name, logo and colours.",
    "TenantConfig.quality": "Gate thresholds: bad-row share, row-count collapse, freshness SLA.",
    "TenantConfig.kpi_targets": "Target per KPI name of the catalog (`tenantlake kpi list`); "
                                "an unknown name is refused.",
    "TenantConfig.alerts": "Alert channels and rules.",
    "TenantConfig.kpi_options": "How KPIs read this tenant's data where tenants differ "
                                "(e.g. which amount revenue uses).",
    "TenantConfig.approval_policy": "Whether alerts need a human approval before delivery.",
    "CsvOptions.delimiter": "One character; `\\t` for tab.",
    "CsvOptions.quote_char": "Character that quotes a field holding the delimiter.",
    "CsvOptions.encoding": "Python codec name: utf-8, utf-8-sig, latin-1, cp1252, ...",
    "CsvOptions.header": "First line holds the column names; without it columns are named "
                         "column_1, column_2, ...",
    "CsvOptions.skip_rows": "Lines to skip before the header (report titles, banners).",
    "CsvOptions.null_values": "Values read as empty (null).",
    "EntityMapping.columns": "canonical column: the export's column name.",
    "EntityMapping.constants": "canonical column: a fixed value for every row.",
    "EntityMapping.value_maps": "canonical column: {the tenant's code: the contract's value}; "
                                "an unmapped code quarantines the row with the code named.",
    "EntityMapping.expressions": "canonical column: an expression over the row's columns (see "
                                 "Expression functions).",
    "Source.kind": "file (a drop folder), api (REST) or sql (SQLAlchemy URL).",
    "Source.format": "File format; `.gz` files are read transparently.",
    "Source.csv": "CSV options.",
    "Source.sheet": "Excel sheet name or 0-based index (default: the first).",
    "Source.url": "API endpoint.",
    "Source.auth_env": "Environment variable holding the API token (never the token).",
    "Source.pagination": "API paging: {style: page | offset | cursor | next_url, ...}.",
    "Source.records_path": "Dotted path of the record list in an API response.",
    "Source.cursor_field": "Record field used as the incremental cursor.",
    "Source.url_env": "Environment variable holding the SQLAlchemy URL.",
    "Source.query_table": "Table (schema.table) to read.",
    "Source.updated_at_column": "Column for incremental SQL reads.",
    "Source.timestamp_format": "strptime format of timestamps, e.g. %d.%m.%Y %H:%M.",
    "Source.decimal_separator": "Decimal separator of numbers in text formats.",
    "Source.thousands_separator": "Thousands separator to strip, e.g. '.' or ' '.",
    "Source.timezone": "IANA zone of this source's naive timestamps (default: the tenant's).",
    "Source.currency": "ISO code of this source's amounts.",
    "Source.entities": "Canonical entity this source feeds: how (one export may feed several).",
    "Partner.id": "Partner slug.",
    "Partner.name": "Partner display name.",
    "Branding.name": "Name on the scorecard (default: display_name).",
    "Branding.primary_color": "Hex colour like #1f4e79.",
    "Branding.secondary_color": "Hex colour like #f2a900.",
    "Channel.type": "webhook, slack, email or file (ERP import).",
    "Channel.url_env": "Environment variable holding the webhook/Slack URL.",
    "Channel.secret_env": "Environment variable holding the signing secret.",
    "Channel.to": "E-mail recipients.",
    "Channel.path": "Folder of a file channel.",
    "Channel.format": "File channel format.",
    "AlertRule.name": "Rule name (unique per tenant).",
    "AlertRule.model": "Alert on this model's predictions ...",
    "AlertRule.kpi": "... or on this KPI of the catalog.",
    "AlertRule.min_probability": "Model rules: alert at or above this probability.",
    "AlertRule.below": "KPI rules: alert below this value.",
    "AlertRule.above": "KPI rules: alert above this value.",
    "AlertRule.channel": "Name of a channel under alerts.channels.",
    "AlertRule.requires_approval": "Override the approval policy's default for this rule.",
    "AlertRule.max_per_day": "At most this many alerts a day from this rule.",
    "Channel.method": "rest: HTTP method.",
    "Channel.batch": "rest: one request per delivery batch instead of one per alert.",
    "Channel.from_address": "email: sender address.",
    "Channel.smtp_url_env": "email: environment variable holding the SMTP URL (default "
                            "TENANTLAKE_SMTP_URL).",
    "Channel.timeout_seconds": "Seconds before a delivery attempt times out.",
    "AlertRule.top_k": "Model rules: alert on the k highest-risk units (with or without "
                       "min_probability).",
    "AlertRule.breach_target": "KPI rules: alert when the value misses the tenant's target.",
    "AlertRule.change_above": "KPI rules: alert when the value changed by more than this share "
                              "vs the prior period.",
    "AlertRule.filters": "Keep a candidate only when every filter holds.",
    "AlertRule.cooldown_days": "Days before the same entity is alerted again by this rule.",
    "AlertRule.channels": "Several channel names (instead of, or besides, channel).",
    "AlertFilter.field": "Field of the candidate (e.g. risk_band).",
    "AlertFilter.op": "Comparison.",
    "AlertFilter.value": "Value (a list for in / not_in).",
    "Alerts.channels": "Channels by name.",
    "Alerts.rules": "Alert rules.",
    "ApprovalPolicy.approvers": "Who may approve (e-mail addresses or user ids).",
}

#: The expression language's functions (tenantlake.landing.expressions.FUNCTIONS), documented.
FUNCTION_DOCS: dict[str, str] = {
    "col": 'col("Column With Spaces"): a source column whose name is not a bare identifier',
    "coalesce": "coalesce(a, b, ...): the first non-null argument",
    "if_else": 'if_else(condition, then, otherwise): e.g. if_else(Flag == "Y", "shipped", "open")',
    "lower": "lower(s): lower case",
    "upper": "upper(s): upper case",
    "strip": "strip(s): without leading and trailing blanks",
    "abs": "abs(x): absolute value",
    "round": "round(x) or round(x, n): rounded to n decimals (n a whole-number literal)",
    "concat": "concat(a, b, ...): the arguments as text, joined (nulls skipped)",
    "to_float": "to_float(s): a number, read with the source's decimal/thousands separators",
    "to_int": "to_int(x): a whole number (truncated towards zero)",
    "row_number": "row_number(): the row's 1-based data row number in its file (a key for "
                  "exports without ids)",
    "file_name": "file_name(): the name of the file the row came from (with row_number(), a "
                 "key unique across files)",
}


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin in (list, tuple, set):
        return f"list[{', '.join(_type_name(a) for a in args)}]"
    if origin is dict:
        return f"map[{_type_name(args[0])} -> {_type_name(args[1])}]"
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    if tp is typing.Any:
        return "any"
    return getattr(tp, "__name__", str(tp))


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """``root`` and every model reachable from its fields, in first-seen order."""
    seen: list[type[BaseModel]] = []

    def walk(tp) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                return
            seen.append(tp)
            for f in tp.model_fields.values():
                walk(f.annotation)
            return
        for a in typing.get_args(tp):
            walk(a)

    walk(root)
    return seen


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """``#:`` comments written above each field in the model's source."""
    out: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(model).splitlines():
        s = line.strip()
        if s.startswith("#:"):
            pending.append(s[2:].strip())
            continue
        m = re.match(r"^([a-z_][a-z0-9_]*)\s*:", s)
        if m and pending:
            out[m.group(1)] = " ".join(pending)
        if not s.startswith("#"):
            pending = []
    return out


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
    else:
        value = field.default
    if value is PydanticUndefined:
        return "**required**"
    if isinstance(value, BaseModel):
        return "(see section)"
    return "`" + json.dumps(value, default=str) + "`"


def _doc(model: type[BaseModel]) -> str:
    doc = inspect.getdoc(model) or ""
    if model.__module__ == "pydantic.main" or doc.startswith("!!!") or \
            doc.startswith("Usage docs"):
        return ""
    return doc


def render_markdown() -> str:
    """The whole reference page."""
    from tenantlake.landing.expressions import FUNCTIONS
    from tenantlake.tenants import TenantConfig

    lines = [
        "# Tenant YAML reference",
        "",
        "<!-- Generated by `python -m tenantlake.docs_gen` from the pydantic models in",
        "     tenantlake/tenants.py; tests/tenantlake/test_docs_gen.py fails when they drift. -->",
        "",
        "One file per tenant, `tenants/<id>.yml`. Unknown keys are refused (with the file and "
        "the key named). For editor completion, point your YAML language server at the JSON "
        "Schema: `tenantlake tenants schema --out tenant.schema.json` and add "
        "`# yaml-language-server: $schema=tenant.schema.json` at the top of the file.",
        "",
        "Start from the exports: `tenantlake tenants add ID --from PATH` scaffolds this file "
        "(detected delimiter, encoding, decimal separator, date format; suggested mappings "
        "marked `CONFIRM`), `tenantlake tenants preview ID` shows what the mapping yields, "
        "`tenantlake tenants validate` checks it (also against the files), "
        "`tenantlake tenants onboard ID` runs it.",
        "",
    ]
    for model in _models(TenantConfig):
        name = model.__name__
        lines += [f"## {name}", ""]
        doc = _doc(model)
        if doc:
            lines += [doc, ""]
        comments = _comments(model)
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        for key, f in model.model_fields.items():
            desc = f.description or comments.get(key, "") or DESCRIPTIONS.get(
                f"{name}.{key}", "")
            desc = desc.replace("|", "\\|").replace("\n", " ")
            tp = _type_name(f.annotation).replace("|", "\\|")
            lines.append(f"| `{key}` | {tp} | {_default(f)} | {desc} |")
        lines.append("")
        if name in EXAMPLES:
            lines += ["Example:", "", "```yaml", EXAMPLES[name].rstrip("\n"), "```", ""]
    lines += ["## Expression functions", "",
              "`expressions` and `where` use a small parsed language (never Python, never "
              "SQL): source column names (bare, or `col(\"Name With Spaces\")`), numbers and "
              "\"strings\", `+ - * / %`, comparisons `== != < <= > >=`, `in (...)`, "
              "`and`/`or`/`not`, `true`/`false`/`null`, and these functions:", ""]
    for fn in FUNCTIONS:
        lines.append(f"- `{fn}`: {FUNCTION_DOCS.get(fn, '(undocumented)')}")
    lines.append("")
    return "\n".join(lines)


def tenant_json_schema() -> dict:
    """JSON Schema of a tenant file (draft 2020-12, from pydantic)."""
    from tenantlake.tenants import TenantConfig

    schema = TenantConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tenantlake tenant configuration (tenants/<id>.yml)"
    return schema


def main() -> None:
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    Path(DOC_PATH).write_text(render_markdown(), encoding="utf-8")


if __name__ == "__main__":
    main()
