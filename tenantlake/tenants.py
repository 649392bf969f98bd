"""Tenant configuration: one YAML file per tenant, validated by one typed model.

``tenants/<id>.yml`` says who the tenant is, where its exports arrive and how their columns map
onto the canonical contracts (:mod:`tenantlake.contracts`), its branding, KPI targets, alert
rules and approval policy. Secrets never live here: fields ending in ``_env`` name an
environment variable.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tenantlake.contracts import CONTRACTS, ENTITY_NAMES
from tenantlake.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

DEFAULT_TENANTS_DIR = PROJECT_ROOT / "tenants"

TENANT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
HEX_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class TenantIdError(ValueError):
    """A tenant id that is not a slug; raised before the id reaches a path or a query."""


def validate_tenant_id(tenant_id: object) -> str:
    """Return ``tenant_id`` if it is a valid slug, else raise :class:`TenantIdError`.

    Slugs are ``^[a-z0-9][a-z0-9_-]{0,62}$``: no dots, slashes, upper case or spaces, so an id
    can never climb out of a folder (``../x``) or change the meaning of a SQL identifier.
    """
    if not isinstance(tenant_id, str) or not TENANT_ID_RE.fullmatch(tenant_id):
        raise TenantIdError(
            f"invalid tenant id {tenant_id!r}: use 1-63 characters of a-z, 0-9, '_' or '-', "
            "starting with a letter or digit (e.g. 'acme-distribution')"
        )
    return tenant_id


def _check_env_name(v: str | None) -> str | None:
    if v is not None and not ENV_NAME_RE.fullmatch(v):
        raise ValueError(
            f"{v!r} is not an environment variable name; secrets are referenced by the NAME of "
            "an environment variable (e.g. ACME_API_TOKEN), never written into the YAML"
        )
    return v


def check_relative_path(value: str, what: str) -> str:
    """Refuse a path that could leave the folder it is relative to (rule: confinement).

    A tenant's YAML may only name paths *inside* its own drop folder: no absolute path, no
    ``..``, no ``~`` or ``$VAR`` expansion (which would make the YAML's meaning depend on the
    process that reads it).
    """
    p = value.replace("\\", "/")
    rule = (f"{what} must stay inside the tenant's drop folder (rule: confinement — absolute "
            "paths, '..', '~' and '$VARIABLES' are refused; extra roots are set by the operator "
            "in TENANTLAKE_EXTRA_DROP_ROOTS, never in a tenant's YAML)")
    if os.path.isabs(p) or p.startswith(("~", "/")) or re.match(r"^[A-Za-z]:", p):
        raise ValueError(f"{value!r} is an absolute path: {rule}")
    if ".." in p.split("/"):
        raise ValueError(f"{value!r} contains '..': {rule}")
    if "$" in p or "%" in p:
        raise ValueError(f"{value!r} contains a variable: {rule}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- sources


class CsvOptions(_Model):
    delimiter: str = ","
    quote_char: str = '"'
    encoding: str = "utf-8"
    header: bool = True
    skip_rows: int = 0
    null_values: list[str] = Field(default_factory=lambda: ["", "NULL", "null", "NA", "N/A"])

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if v == "\\t":
            v = "\t"
        if len(v) != 1:
            raise ValueError(f"delimiter must be a single character, got {v!r}")
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (try utf-8, utf-8-sig, latin-1, cp1252)")
        return v


class ColumnRule(_Model):
    """A tenant's own rule for one canonical column, checked like the contract's own.

    Bad rows are quarantined with rule ``required``, ``pattern``, ``allowed_values``,
    ``min_value`` or ``max_value`` and a reason naming ``entities.<entity>.rules.<column>``.
    """

    #: The column may not be null (also for a column the contract lets be empty).
    required: bool = False
    #: A regular expression the whole value (as text) must match, e.g. ``"[A-Z]{3}"``.
    pattern: str | None = None
    #: The only values allowed (beyond the contract's own allowed values).
    allowed: list[str | int | float | bool] | None = None
    #: Smallest allowed value (numeric columns).
    min: float | None = None
    #: Largest allowed value (numeric columns).
    max: float | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"pattern {v!r} is not a regular expression: {exc}") from None
        return v


class Lookup(_Model):
    """Join another source of this tenant onto each row by key (e.g. a region name from a nation
    file, a unit cost from a supplier price list). Its columns are then readable as
    ``<lookup name>.<column>`` in ``columns`` and as ``col("<lookup name>.<column>")`` in
    expressions; a row whose key has no match gets empty values (a required column then
    quarantines it with the reason). The first row of a key wins when the file repeats it."""

    #: Name of another file source of this tenant (it may feed no entity itself).
    source: str
    #: Column of the lookup source holding the key.
    key: str
    #: Column of this source holding the same key (``by``, not ``on``: YAML reads ``on`` as
    #: true).
    by: str


class EntityMapping(_Model):
    """How one export feeds one canonical entity.

    ``columns`` maps canonical names onto the export's own column names; ``constants`` fills a
    canonical column with a fixed value; ``value_maps`` translates the tenant's codes onto the
    contract's allowed values; ``expressions`` computes a canonical column from the row's own
    columns with a small, parsed expression language (see :mod:`tenantlake.landing.expressions`).
    """

    columns: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)
    value_maps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    expressions: dict[str, str] = Field(default_factory=dict)
    #: Per-column parse formats overriding the source's (e.g. {"created_at": "%d/%m/%Y %H:%M"}).
    formats: dict[str, str] = Field(default_factory=dict)
    #: Keep rows only where this expression is true (e.g. record_type == "L").
    where: str | None = None
    #: Tenant rules per canonical column (required, pattern, allowed, min, max).
    rules: dict[str, ColumnRule] = Field(default_factory=dict)
    #: Rows with the same contract key in one batch: exact copies are always dropped and
    #: counted; conflicting ones are all quarantined (reject_conflicts), or the earliest
    #: (first) / latest (last) is kept and the others quarantined.
    duplicates: Literal["reject_conflicts", "first", "last"] = "reject_conflicts"
    #: Canonical columns whose typed source values (Parquet) may be cast leniently (a boolean
    #: as 1/0, a number as a date...): without, a type that does not fit refuses the file.
    lenient: list[str] = Field(default_factory=list)
    #: Mapped optional columns some files may lack (landed as nulls); any other mapped column
    #: missing from a file refuses that file.
    absent_ok: list[str] = Field(default_factory=list)
    #: Other sources joined onto each row by key, by a name of your choice (see Lookup).
    lookups: dict[str, Lookup] = Field(default_factory=dict)

    @field_validator("lookups")
    @classmethod
    def _lookup_names(cls, v: dict[str, Lookup]) -> dict[str, Lookup]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"lookup name {name!r}: use letters, digits and '_'")
        return v


class Source(_Model):
    """One place a tenant's data arrives from, feeding one or more entities."""

    kind: Literal["file", "api", "sql"] = "file"
    # --- file drops
    path: str | None = Field(
        default=None,
        description="Folder or glob, relative to the tenant's drop folder (never absolute, "
                    "never '..').",
    )
    format: Literal["csv", "jsonl", "json", "parquet", "xlsx"] | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    sheet: str | int | None = None
    # --- API
    url: str | None = None
    auth_env: str | None = None
    pagination: dict[str, Any] | None = None
    records_path: str | None = None
    cursor_field: str | None = None
    # --- SQL
    url_env: str | None = None
    query_table: str | None = None
    updated_at_column: str | None = None
    # --- parsing shared by all kinds
    date_format: str | None = Field(default=None, description="strptime format, e.g. %d.%m.%Y")
    timestamp_format: str | None = None
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: str | None = None
    timezone: str | None = None
    currency: str | None = None
    entities: dict[str, EntityMapping] = Field(default_factory=dict)

    _check_auth = field_validator("auth_env", "url_env")(classmethod(
        lambda cls, v: _check_env_name(v)))

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, v: dict[str, EntityMapping]) -> dict[str, EntityMapping]:
        for name, mapping in v.items():
            if name not in CONTRACTS:
                raise ValueError(
                    f"unknown entity {name!r}; known entities: {', '.join(ENTITY_NAMES)}")
            contract = CONTRACTS[name]
            targets = (set(mapping.columns) | set(mapping.constants) | set(mapping.expressions))
            unknown = sorted(set(targets) | set(mapping.value_maps) | set(mapping.formats)
                             | set(mapping.rules) | set(mapping.lenient)
                             | set(mapping.absent_ok) - set(contract.column_names))
            unknown = [u for u in unknown if u not in contract.column_names]
            if unknown:
                raise ValueError(
                    f"entities.{name}: {', '.join(unknown)} not in the {name} contract; "
                    f"canonical columns are: {', '.join(contract.column_names)}")
            unmapped_rules = sorted(c for c, r in mapping.rules.items()
                                    if r.required and c not in targets)
            if unmapped_rules:
                raise ValueError(
                    f"entities.{name}.rules: {', '.join(unmapped_rules)} required but not "
                    "mapped; map them under columns, constants or expressions")
            required_absent = sorted(c for c in mapping.absent_ok
                                     if c in contract.required_columns
                                     or (c in mapping.rules and mapping.rules[c].required))
            if required_absent:
                raise ValueError(
                    f"entities.{name}.absent_ok: {', '.join(required_absent)} required, so a "
                    "file may not lack it")
            missing = [c for c in contract.required_columns if c not in targets]
            if missing:
                raise ValueError(
                    f"entities.{name}: required column(s) {', '.join(missing)} not mapped; add "
                    f"them under columns (canonical: source_column), constants or expressions")
            overlap = sorted((set(mapping.columns) & set(mapping.constants))
                             | (set(mapping.columns) & set(mapping.expressions))
                             | (set(mapping.constants) & set(mapping.expressions)))
            if overlap:
                raise ValueError(
                    f"entities.{name}: {', '.join(overlap)} mapped more than once "
                    "(columns, constants and expressions must not overlap)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return _check_timezone(v)

    @field_validator("path")
    @classmethod
    def _confined(cls, v: str | None) -> str | None:
        return None if v is None else check_relative_path(v, "a source path")

    @model_validator(mode="after")
    def _kind_fields(self) -> "Source":
        if self.kind == "file":
            if not self.path:
                raise ValueError("a file source needs 'path' (a folder or glob in the drop folder)")
            if not self.format:
                raise ValueError("a file source needs 'format' (csv, jsonl, json, parquet, xlsx)")
        elif self.kind == "api":
            if not self.url:
                raise ValueError("an api source needs 'url'")
        elif self.kind == "sql":
            if not self.url_env:
                raise ValueError("a sql source needs 'url_env' (env var holding a SQLAlchemy URL)")
            if not self.query_table:
                raise ValueError("a sql source needs 'query_table'")
        return self


KPI_CATALOG_CSV = PROJECT_ROOT / "dbt_project" / "seeds" / "kpi_definitions.csv"


def kpi_names() -> list[str]:
    """The KPI names of the catalog (``dbt_project/seeds/kpi_definitions.csv``), in file order.

    Read here (not through :mod:`tenantlake.kpi`, which imports this module) so that a target on
    a KPI that does not exist is refused when the YAML is loaded, naming the known ones.
    """
    import csv

    try:
        with open(KPI_CATALOG_CSV, newline="", encoding="utf-8") as fh:
            return [row["kpi_name"] for row in csv.DictReader(fh)]
    except FileNotFoundError:  # pragma: no cover - an installed package without the dbt project
        return []


def _check_timezone(v: str | None) -> str | None:
    if v is None:
        return v
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Berlin, America/Chicago)")
    return v


# --------------------------------------------------------------------------- the rest


class Partner(_Model):
    id: str
    name: str

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not TENANT_ID_RE.fullmatch(v):
            raise ValueError(f"partner id {v!r} must be a slug like 'northbridge-consulting'")
        return v


class Branding(_Model):
    name: str | None = None
    logo: str | None = Field(default=None, description="Path to a PNG/SVG, relative to tenants/")
    primary_color: str = "#1f4e79"
    secondary_color: str = "#f2a900"

    @field_validator("primary_color", "secondary_color")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not HEX_COLOUR_RE.fullmatch(v):
            raise ValueError(f"{v!r} is not a colour like '#1f4e79'")
        return v


class Quality(_Model):
    #: Share of bad rows in a batch above which the batch's blocking check fails.
    max_bad_share: float = Field(default=0.05, ge=0, le=1)
    #: A batch with fewer rows than this share of the recent median fails (row-count collapse).
    min_row_ratio: float = Field(default=0.2, ge=0, le=1)
    #: Freshness SLA: hours after which an entity's newest event is stale, per entity ('default'
    #: for the rest). A stale batch fails its blocking gate; with no limit for an entity its
    #: age is reported only.
    freshness_hours: dict[str, float] = Field(default_factory=dict)
    #: Extra Great Expectations per entity: {entity: [{type: ..., kwargs: {...}}]}
    extra_expectations: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)

    def freshness_limit(self, entity: str) -> float | None:
        """Hours after which ``entity`` is stale (its own key, else ``default``); None: no SLA."""
        limit = self.freshness_hours.get(entity, self.freshness_hours.get("default"))
        return None if limit is None else float(limit)

    @field_validator("freshness_hours", "extra_expectations")
    @classmethod
    def _entities(cls, v: dict) -> dict:
        bad = [k for k in v if k != "default" and k not in CONTRACTS]
        if bad:
            raise ValueError(f"unknown entity {bad[0]!r}; known: {', '.join(ENTITY_NAMES)}")
        return v


ALERT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: Roles that may approve or reject alerts when the tenant's policy does not say otherwise.
DEFAULT_APPROVER_ROLES = ("platform_admin", "partner_manager", "tenant_ops")


class Channel(_Model):
    """Where alerts go. URLs and secrets are named by environment variable, never written here.

    ``webhook``: Standard Webhooks-signed JSON POST (``secret_env`` holds one or two
    space-separated ``whsec_...`` secrets; two during a rotation). ``slack``: a Slack-compatible
    incoming webhook. ``email``: SMTP (server from ``smtp_url_env``, default
    ``TENANTLAKE_SMTP_URL``). ``file``: a CSV/JSON/Parquet file per delivery batch under the
    tenant's own export folder, for ERP import. ``rest``: a generic JSON call (e.g. create a CRM
    task), one request per alert or, with ``batch: true``, one per batch whose response may
    reject single rows.
    """

    type: Literal["webhook", "slack", "email", "file", "rest"]
    url_env: str | None = None
    secret_env: str | None = None
    #: rest: env var holding a bearer token sent as ``Authorization: Bearer ...``.
    auth_env: str | None = None
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    batch: bool = False
    to: list[str] = Field(default_factory=list)
    from_address: str = "alerts@tenantlake.invalid"
    smtp_url_env: str | None = None
    path: str | None = Field(default=None, description=(
        "file: folder relative to the tenant's export folder (<lake>/exports/alerts/tenant=<id>)"))
    format: Literal["csv", "json", "parquet"] | None = None
    #: Most deliveries per minute on this channel (None: no limit); the rest wait for later.
    rate_per_minute: int | None = Field(default=None, ge=1)
    #: Attempts before an alert is dead-lettered.
    max_attempts: int = Field(default=8, ge=1, le=50)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    _env = field_validator("url_env", "secret_env", "auth_env", "smtp_url_env")(
        classmethod(lambda cls, v: _check_env_name(v)))

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = Path(v).parts
        if Path(v).is_absolute() or ".." in parts or not parts or v.startswith("~"):
            raise ValueError(f"file channel path {v!r} must be a relative folder inside the "
                             "tenant's export folder (no '..', no absolute path)")
        return v

    @model_validator(mode="after")
    def _needs(self) -> "Channel":
        if self.type in ("webhook", "slack", "rest") and not self.url_env:
            raise ValueError(f"a {self.type} channel needs url_env (env var holding the URL)")
        if self.type == "email" and not self.to:
            raise ValueError("an email channel needs 'to' (list of addresses)")
        if self.type == "file" and not self.path:
            raise ValueError("a file channel needs 'path'")
        return self


class AlertFilter(_Model):
    """Keep a candidate only when ``field op value`` holds (e.g. risk_band in [high])."""

    field: str
    op: Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le"] = "eq"
    value: Any


class AlertRule(_Model):
    """One alert rule: a model's predictions or a KPI, a threshold and/or a top-k budget.

    Model rules alert on units whose probability is at least ``min_probability`` (and/or the
    ``top_k`` highest). KPI rules alert when the latest period's value is ``below`` / ``above``
    a number, misses the tenant's target (``breach_target``), or changed by more than
    ``change_above`` (relative, vs the prior period). ``cooldown_days``: an entity alerted by
    this rule is not alerted again within that many days.
    """

    name: str
    model: str | None = None
    kpi: str | None = None
    min_probability: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    below: float | None = None
    above: float | None = None
    breach_target: bool = False
    change_above: float | None = Field(default=None, gt=0)
    #: KPI rules: the grain of the KPI values compared (latest period of this grain).
    grain: Literal["day", "week", "month"] = "month"
    filters: list[AlertFilter] = Field(default_factory=list)
    #: Entity key columns of the model's predictions (default: taken from the scored file).
    entity: list[str] | None = None
    cooldown_days: int = Field(default=7, ge=0)
    channel: str | None = None
    channels: list[str] = Field(default_factory=list)
    requires_approval: bool | None = None
    max_per_day: int = Field(default=50, ge=1)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not ALERT_NAME_RE.fullmatch(v):
            raise ValueError(f"alert rule name {v!r} must be a slug like 'stockout_risk_14d'")
        return v

    @field_validator("model")
    @classmethod
    def _model_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"^[a-z][a-z0-9_]{0,62}$", v):
            raise ValueError(f"model {v!r} is not a model name (e.g. stockout, churn, "
                             "project_failure, late_payment)")
        return v

    @property
    def channel_names(self) -> list[str]:
        """Every channel of the rule (``channel`` first, then ``channels``), without repeats."""
        out = [self.channel] if self.channel else []
        return out + [c for c in self.channels if c not in out]

    @model_validator(mode="after")
    def _one_subject(self) -> "AlertRule":
        if (self.model is None) == (self.kpi is None):
            raise ValueError(f"alert rule {self.name!r}: set exactly one of 'model' or 'kpi'")
        if self.model is not None and self.min_probability is None and self.top_k is None:
            raise ValueError(f"alert rule {self.name!r}: a model rule needs min_probability "
                             "or top_k")
        if self.kpi is not None and self.below is None and self.above is None \
                and not self.breach_target and self.change_above is None:
            raise ValueError(f"alert rule {self.name!r}: a KPI rule needs 'below', 'above', "
                             "'breach_target: true' or 'change_above'")
        if not self.channel_names:
            raise ValueError(f"alert rule {self.name!r}: set 'channel' (or 'channels')")
        return self


class Alerts(_Model):
    channels: dict[str, Channel] = Field(default_factory=dict)
    rules: list[AlertRule] = Field(default_factory=list)

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, v: dict[str, Channel]) -> dict[str, Channel]:
        bad = [k for k in v if not ALERT_NAME_RE.fullmatch(k)]
        if bad:
            raise ValueError(f"channel name {bad[0]!r} must be a slug like 'ops_webhook'")
        return v

    @model_validator(mode="after")
    def _channels_exist(self) -> "Alerts":
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"alert rule names must be unique; repeated: {', '.join(dupes)}")
        for r in self.rules:
            for ch in r.channel_names:
                if ch not in self.channels:
                    raise ValueError(
                        f"alert rule {r.name!r} uses channel {ch!r}, which is not defined "
                        f"under alerts.channels (defined: {', '.join(self.channels) or 'none'})")
        return self


class KpiOptions(_Model):
    """How the KPIs read this tenant's data where tenants differ."""

    #: Which amount the money KPIs (revenue, average order value) use per order. ``auto``: the
    #: sum of the order's lines' ``net_amount`` when every line of the order has one (lines are
    #: net of discount and tax by contract), else the header's ``order_amount`` (which some
    #: ERPs send with tax). ``order_amount`` / ``line_net_amount`` force one.
    revenue_basis: Literal["auto", "order_amount", "line_net_amount"] = "auto"


class ApprovalPolicy(_Model):
    #: Default for rules that do not say: do alerts need a human approval before delivery?
    default: Literal["required", "not_required"] = "required"
    #: E-mail addresses that may approve this tenant's alerts (besides the roles below).
    approvers: list[str] = Field(default_factory=list)
    #: Dashboard roles that may approve/reject (within the tenants their role sees).
    roles: list[Literal["platform_admin", "partner_manager", "tenant_ops",
                        "tenant_executive", "analyst"]] = Field(
        default_factory=lambda: list(DEFAULT_APPROVER_ROLES))

    def required_for(self, rule: "AlertRule") -> bool:
        """Whether alerts of ``rule`` wait for a person (the rule's own say, else the default)."""
        if rule.requires_approval is not None:
            return rule.requires_approval
        return self.default == "required"


class TenantConfig(_Model):
    id: str
    display_name: str
    partner: Partner
    industry: Literal["distribution", "wholesale", "ecommerce", "manufacturing", "retail", "other"]
    reporting_currency: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: str = "UTC"
    share_training_data: bool = False
    #: Late-payment model: an invoice paid more than this many days after its due date is late.
    late_payment_days: int = Field(default=30, ge=1, le=365)
    drop_folder: str | None = Field(
        default=None,
        description="Where file exports arrive: a folder inside the tenant's own folder of the "
                    "drops root ('<id>/exports'), optionally in an extra root the operator "
                    "declared ('sftp:<id>'); default <drops root>/<id>")
    sources: dict[str, Source] = Field(default_factory=dict)
    branding: Branding = Field(default_factory=Branding)
    quality: Quality = Field(default_factory=Quality)
    kpi_targets: dict[str, float] = Field(default_factory=dict)
    alerts: Alerts = Field(default_factory=Alerts)
    approval_policy: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    kpi_options: KpiOptions = Field(default_factory=KpiOptions)

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        try:
            return validate_tenant_id(v)
        except TenantIdError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _lookups_and_feeds(self) -> "TenantConfig":
        used = set()
        for sname, src in self.sources.items():
            for entity, m in src.entities.items():
                for lname, lk in m.lookups.items():
                    other = self.sources.get(lk.source)
                    if other is None or other.kind != "file" or lk.source == sname:
                        raise ValueError(
                            f"sources.{sname}.entities.{entity}.lookups.{lname}: source "
                            f"{lk.source!r} is not another file source of this tenant "
                            f"(file sources: {', '.join(s for s, o in self.sources.items() if o.kind == 'file' and s != sname) or 'none'})")
                    used.add(lk.source)
        for sname, src in self.sources.items():
            if not src.entities and sname not in used:
                raise ValueError(f"sources.{sname}: feeds no entity and no lookup uses it; map "
                                 f"it under entities (known: {', '.join(ENTITY_NAMES)})")
        return self

    @model_validator(mode="after")
    def _drop_folder_confined(self) -> "TenantConfig":
        if self.drop_folder is not None:
            root_name, rel = _split_drop_folder(self.drop_folder)
            check_relative_path(rel, "drop_folder")
            first = rel.replace("\\", "/").strip("/").split("/")[0]
            if first != self.id:
                raise ValueError(
                    f"drop_folder {self.drop_folder!r} is not inside the tenant's own folder "
                    f"{self.id!r} of the drops root (rule: confinement — a tenant's files may "
                    f"never be read from another tenant's folder); use e.g. "
                    f"'{self.id}/exports'")
            if root_name:
                from tenantlake.settings import EXTRA_DROP_ROOTS_ENV, extra_drop_roots

                if root_name not in extra_drop_roots():
                    raise ValueError(
                        f"drop_folder {self.drop_folder!r} names the drop root {root_name!r}, "
                        f"which the platform configuration ({EXTRA_DROP_ROOTS_ENV}) does not "
                        "declare")
        return self

    @field_validator("kpi_targets")
    @classmethod
    def _known_kpis(cls, v: dict[str, float]) -> dict[str, float]:
        known = kpi_names()
        unknown = sorted(k for k in v if k not in known)
        if unknown and known:
            raise ValueError(
                f"unknown KPI(s) {', '.join(unknown)}; targets take the catalog's KPI names "
                f"(`tenantlake kpi list`): {', '.join(known)}")
        return v

    @property
    def entities(self) -> list[str]:
        """Canonical entities this tenant sends, in contract order."""
        fed = {e for s in self.sources.values() for e in s.entities}
        return [e for e in ENTITY_NAMES if e in fed]

    def drop_dir(self, home) -> Path:
        """The tenant's drop folder under the drops root of ``home`` (a Home or its path)."""
        from tenantlake.settings import drops_root, extra_drop_roots

        if not self.drop_folder:
            return drops_root(home) / self.id
        root_name, rel = _split_drop_folder(self.drop_folder)
        base = extra_drop_roots().get(root_name) if root_name else drops_root(home)
        if base is None:
            raise ValueError(f"tenant {self.id!r}: drop_folder {self.drop_folder!r} names an "
                             f"undeclared drop root {root_name!r}")
        return base / rel


def _split_drop_folder(value: str) -> tuple[str, str]:
    """``"sftp:acme/in"`` -> ("sftp", "acme/in"); ``"acme/in"`` -> ("", "acme/in")."""
    name, sep, rel = value.partition(":")
    if sep and re.fullmatch(r"[A-Za-z][\w-]*", name) and len(name) > 1:
        return name, rel
    return "", value


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    field: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        s = f"{self.file}: {self.field}: {self.message}"
        return f"{s} (fix: {self.hint})" if self.hint else s


class TenantConfigError(ValueError):
    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_HINTS = {
    "extra_forbidden": "remove it or check its spelling against `tenantlake tenants add --help`",
    "missing": "add this field",
    "literal_error": "use one of the allowed values",
    "string_pattern_mismatch": "use the documented format",
}


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def load_tenant_file(path: Path | str) -> TenantConfig:
    """Load and validate one tenant file; raise :class:`TenantConfigError` naming every problem."""
    path = Path(path)
    problems: list[ConfigProblem] = []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TenantConfigError([ConfigProblem(str(path), "<file>", "file not found")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        raise TenantConfigError([ConfigProblem(
            str(path), where, f"not valid YAML: {getattr(exc, 'problem', exc)}",
            "check indentation and quoting")]) from None
    if not isinstance(raw, dict):
        raise TenantConfigError([ConfigProblem(str(path), "<root>",
                                               "expected a mapping of tenant settings",
                                               "start from `tenantlake tenants add ID`")])
    try:
        cfg = TenantConfig.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(ConfigProblem(str(path), _loc(err["loc"]), msg,
                                          _HINTS.get(err["type"], "")))
        raise TenantConfigError(problems) from None
    stem = path.name.rsplit(".", 1)[0]
    if stem != cfg.id:
        raise TenantConfigError([ConfigProblem(
            str(path), "id", f"id {cfg.id!r} does not match the file name {path.name!r}",
            f"rename the file to {cfg.id}.yml or change the id")])
    return cfg


def tenant_files(paths: list[Path] | None = None) -> list[Path]:
    """Tenant YAML files under the given files/folders (default: the tenants directory)."""
    paths = paths or [tenants_dir()]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(q for q in p.iterdir()
                          if q.suffix in (".yml", ".yaml") and not q.name.startswith("_"))
        else:
            out.append(p)
    return out


def tenants_dir() -> Path:
    """The tenants folder: ``$TENANTLAKE_TENANTS_DIR``, else the project's ``tenants/``."""
    return Path(os.environ.get("TENANTLAKE_TENANTS_DIR") or DEFAULT_TENANTS_DIR).resolve()


def load_tenants(directory: Path | None = None, *,
                 skip_invalid: bool = False) -> dict[str, TenantConfig]:
    """All tenants in ``directory``; raises naming every problem of every bad file.

    With ``skip_invalid`` a file that does not validate is left out (its problems logged with
    the file and field) instead of failing every tenant: what the pipeline, the sensors and the
    partition set use, so one tenant's bad configuration never stops another tenant.
    """
    out: dict[str, TenantConfig] = {}
    problems: list[ConfigProblem] = []
    for f in tenant_files([directory] if directory else None):
        try:
            cfg = load_tenant_file(f)
        except TenantConfigError as exc:
            if skip_invalid:
                for p in exc.problems:
                    log.error("tenant file left out: %s", p)
                continue
            problems += exc.problems
            continue
        if cfg.id in out:
            problems.append(ConfigProblem(str(f), "id", f"duplicate tenant id {cfg.id!r}"))
        out[cfg.id] = cfg
    if problems:
        raise TenantConfigError(problems)
    return out


def load_tenant(tenant_id: str, directory: Path | None = None) -> TenantConfig:
    validate_tenant_id(tenant_id)
    d = Path(directory) if directory else tenants_dir()
    for ext in (".yml", ".yaml"):
        f = d / f"{tenant_id}{ext}"
        if f.exists():
            return load_tenant_file(f)
    raise TenantConfigError([ConfigProblem(str(d / f"{tenant_id}.yml"), "<file>",
                                           f"no tenant file for {tenant_id!r}",
                                           f"create it with `tenantlake tenants add {tenant_id}`")])
