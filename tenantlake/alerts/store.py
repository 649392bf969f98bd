"""The alert outbox, its audit chain and tenant holds, in the operational store.

Tables live here (not in :mod:`tenantlake.store`) but share its engine: SQLite by default,
PostgreSQL in production, SQLAlchemy Core with bound parameters only. They are created on first
use of :func:`alerts_engine`.

``alerts_outbox``: one row per alert and channel. ``idempotency_key`` is
``tenant:rule:entity:window``; ``alert_id`` is derived from it and the channel, so re-building
the same window is a no-op and a re-sent alert always carries the same id (receivers dedupe on
it). ``alerts_audit``: the append-only, hash-chained log of every state change, one chain per
tenant, whose head (last sequence number and hash) is kept in ``alerts_audit_heads`` and moved
by compare-and-set in the same transaction as the state change it records.
"""

from __future__ import annotations

import threading

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tenantlake.store import engine as _store_engine

metadata = MetaData()

outbox = Table(
    "alerts_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(32), nullable=False, unique=True),
    Column("tenant_id", String(63), nullable=False, index=True),
    Column("rule", String(63), nullable=False),
    Column("channel", String(63), nullable=False),
    Column("entity", Text, nullable=False),
    Column("window", String(32), nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("subject", String(16), nullable=False),  # model | kpi
    Column("model_name", String(255), nullable=True),
    Column("model_version", String(64), nullable=True),
    #: Which prediction (or KPI value) the alert came from: file and row key.
    Column("source_ref", Text, nullable=False),
    Column("score", Float, nullable=True),
    Column("reasons", Text, nullable=False),  # JSON list
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("payload_hash", String(64), nullable=False),
    Column("requires_approval", Boolean, nullable=False),
    Column("approved_hash", String(64), nullable=True),
    Column("approved_by", String(255), nullable=True),
    Column("approved_at", DateTime, nullable=True),
    Column("state", String(24), nullable=False, index=True),
    Column("state_reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=True, index=True),
    Column("lease_until", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("first_attempt_at", DateTime, nullable=True),
    Column("delivered_at", DateTime, nullable=True),
    UniqueConstraint("tenant_id", "idempotency_key", "channel", name="uq_alert_key_channel"),
)

audit = Table(
    "alerts_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(63), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("alert_id", String(32), nullable=False, index=True),
    Column("actor", String(255), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("from_state", String(24), nullable=True),
    Column("to_state", String(24), nullable=False),
    Column("payload_hash", String(64), nullable=True),
    Column("model_version", String(64), nullable=True),
    Column("detail", Text, nullable=False),  # canonical JSON: reason, source_ref, attempt, ...
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    UniqueConstraint("tenant_id", "seq", name="uq_audit_seq"),
)

audit_heads = Table(
    "alerts_audit_heads",
    metadata,
    Column("tenant_id", String(63), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

holds = Table(
    "alerts_holds",
    metadata,
    Column("tenant_id", String(63), primary_key=True),
    #: Why nothing leaves for this tenant (failed gate, stale data); NULL when not held.
    Column("reason", Text, nullable=True),
    Column("since", DateTime, nullable=True),
    Column("checked_at", DateTime, nullable=False),
)

_created: set[str] = set()
_lock = threading.Lock()


#: Triggers refusing UPDATE and DELETE on the audit log: they stop accidents and careless
#: scripts; someone who drops them is still caught by the hash chain (`tenantlake audit verify`).
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS alerts_audit_no_{op.lower()} BEFORE {op} ON alerts_audit "
    "BEGIN SELECT RAISE(ABORT, 'alerts_audit is append-only'); END"
    for op in ("UPDATE", "DELETE")]
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION alerts_audit_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'alerts_audit is append-only'; END $$ LANGUAGE plpgsql")
_PG_TRIGGER = ("CREATE TRIGGER alerts_audit_append_only BEFORE UPDATE OR DELETE ON alerts_audit "
               "FOR EACH ROW EXECUTE FUNCTION alerts_audit_append_only()")


def _append_only(eng: Engine) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with eng.begin() as conn:
            if eng.dialect.name == "sqlite":
                for ddl in _SQLITE_TRIGGERS:
                    conn.execute(text(ddl))
            elif eng.dialect.name == "postgresql":
                exists = conn.execute(text(
                    "SELECT 1 FROM pg_trigger WHERE tgname = 'alerts_audit_append_only'")).first()
                if not exists:
                    conn.execute(text(_PG_FUNCTION))
                    conn.execute(text(_PG_TRIGGER))
    except DBAPIError:  # another process created them at the same moment
        pass


def alerts_engine(url: str | None = None) -> Engine:
    """The operational store's engine with the alert tables (and audit triggers) created."""
    eng = _store_engine(url)
    key = eng.url.render_as_string(hide_password=False)
    with _lock:
        if key not in _created:
            metadata.create_all(eng)
            _append_only(eng)
            _created.add(key)
    return eng


def drop_append_only_triggers(url: str | None = None) -> None:
    """Remove the audit triggers (what an attacker with database access could do; tests)."""
    from sqlalchemy import text

    eng = alerts_engine(url)
    with eng.begin() as conn:
        if eng.dialect.name == "sqlite":
            for op in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS alerts_audit_no_{op}"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS alerts_audit_append_only ON alerts_audit"))


def forget_engines() -> None:
    """Forget which stores have the tables (after :func:`tenantlake.store.dispose_all`)."""
    with _lock:
        _created.clear()
