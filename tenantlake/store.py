"""The operational store: small, transactional state that is not analytics data.

Holds the landing ledger (which source unit landed as which batch, with how many rows, and
whether its quality gate let it through), the audit of operator decisions on blocked batches
(``landing_audit``) and the incremental ``cursors`` of API/SQL sources. SQLite by default (``Home.store_url``), PostgreSQL in
production (``postgresql+psycopg://...``): everything here is SQLAlchemy Core with bound
parameters, so one code path serves both. Tables are created on first use.

Why a ledger and not "look at the lake": the ledger row is the commit point of a landing. The
Parquet file is renamed into place first, the ledger row written second; a crash in between
leaves a file whose name is derived from the content hash, so the re-run overwrites the same
file and then writes the ledger row (see :mod:`tenantlake.landing.core`).
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    insert,
    select,
    update,
)

metadata = MetaData()

landing_ledger = Table(
    "landing_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(63), nullable=False, index=True),
    Column("entity", String(63), nullable=False),
    Column("source", String(255), nullable=False),
    #: What the unit was (file path, API page, SQL pull) — used to replace a re-sent file.
    Column("source_label", Text, nullable=False),
    Column("content_hash", String(128), nullable=False),
    Column("batch_id", String(128), nullable=False),
    Column("landing_date", String(10), nullable=False),
    Column("rows_in", Integer, nullable=False),
    Column("rows_landed", Integer, nullable=False),
    Column("rows_quarantined", Integer, nullable=False),
    Column("landed_at", DateTime, nullable=False),
    #: ``landed`` (gate passed: the batch is in lake/raw), ``blocked`` (gate failed: the batch
    #: waits in lake/held and is never read downstream) or ``released`` (an operator let a
    #: blocked batch through with ``tenantlake land release``; audited in landing_audit).
    Column("status", String(16), nullable=False, server_default="landed"),
    #: Why a batch is blocked: JSON list of {"check", "description"} (the gate's own words,
    #: repeated verbatim on every rerun).
    Column("reasons", Text, nullable=True),
    UniqueConstraint("tenant_id", "entity", "content_hash", name="uq_ledger_unit"),
)

#: Append-only record of what operators decided about blocked batches.
landing_audit = Table(
    "landing_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(63), nullable=False, index=True),
    Column("entity", String(63), nullable=False),
    Column("batch_id", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    #: The gate's reasons the batch was blocked for (JSON), as they stood when it was released.
    Column("blocked_reasons", Text, nullable=True),
    Column("at", DateTime, nullable=False),
)

LANDED, BLOCKED, RELEASED = "landed", "blocked", "released"

cursors = Table(
    "cursors",
    metadata,
    Column("tenant_id", String(63), primary_key=True),
    Column("source_name", String(255), primary_key=True),
    Column("value", Text, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def engine(url: str | None = None) -> Engine:
    """A cached engine for ``url`` (default: the home's store) with the tables created."""
    if url is None:
        from tenantlake.settings import home

        url = home().store_url
    with _lock:
        eng = _engines.get(url)
        if eng is None:
            kwargs: dict = {}
            if url.startswith("sqlite"):
                # Landing runs from Dagster threads and the CLI; give SQLite a busy timeout.
                kwargs["connect_args"] = {"timeout": 30}
                if ":///" in url:
                    from pathlib import Path

                    Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
            eng = create_engine(url, pool_pre_ping=True, **kwargs)
            metadata.create_all(eng)
            _add_missing_columns(eng)
            _engines[url] = eng
    return eng


def _add_missing_columns(eng: Engine) -> None:
    """Add the ledger's gate columns to a store created before they existed.

    Why not a migration tool: two nullable/defaulted columns on one table; ``create_all`` only
    creates missing tables, so an existing home would otherwise fail on the first query.
    """
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(eng).get_columns("landing_ledger")}
    ddl = {"status": "VARCHAR(16) NOT NULL DEFAULT 'landed'", "reasons": "TEXT"}
    with eng.begin() as conn:
        for name, typ in ddl.items():
            if name not in have:
                conn.execute(text(f"ALTER TABLE landing_ledger ADD COLUMN {name} {typ}"))


def dispose_all() -> None:
    """Close every cached engine (tests and forked children call this)."""
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


# --------------------------------------------------------------------------- ledger


@dataclass(frozen=True)
class LedgerEntry:
    tenant_id: str
    entity: str
    source: str
    source_label: str
    content_hash: str
    batch_id: str
    landing_date: str
    rows_in: int
    rows_landed: int
    rows_quarantined: int
    landed_at: dt.datetime
    status: str = LANDED
    #: JSON list of {"check", "description"} for a blocked batch.
    reasons: str | None = None

    @property
    def counts_as_landed(self) -> bool:
        return self.status in (LANDED, RELEASED)


def _entry(row) -> LedgerEntry:
    m = row._mapping
    return LedgerEntry(**{k: m[k] for k in LedgerEntry.__dataclass_fields__})


def ledger_get(tenant_id: str, entity: str, content_hash: str,
               url: str | None = None) -> LedgerEntry | None:
    """The ledger row of one unit for one entity, or None when it never landed."""
    t = landing_ledger
    with engine(url).connect() as conn:
        row = conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.entity == entity,
                                           t.c.content_hash == content_hash)).first()
    return _entry(row) if row else None


def ledger_for_label(tenant_id: str, entity: str, source_label: str,
                     url: str | None = None) -> list[LedgerEntry]:
    """Earlier landings of the same file/unit label (a re-sent, changed file replaces them)."""
    t = landing_ledger
    with engine(url).connect() as conn:
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.entity == entity,
                                            t.c.source_label == source_label)).all()
    return [_entry(r) for r in rows]


def ledger_record(entry: LedgerEntry, replaces: list[str] | None = None,
                  url: str | None = None) -> None:
    """Write the commit row of a landed batch, removing the rows of batches it replaced.

    Idempotent: a row for the same (tenant, entity, content_hash) is replaced, so a re-run after a
    crash never fails on the unique constraint.
    """
    t = landing_ledger
    values = {k: getattr(entry, k) for k in LedgerEntry.__dataclass_fields__}
    with engine(url).begin() as conn:
        conn.execute(delete(t).where(t.c.tenant_id == entry.tenant_id,
                                     t.c.entity == entry.entity,
                                     t.c.content_hash == entry.content_hash))
        if replaces:
            conn.execute(delete(t).where(t.c.tenant_id == entry.tenant_id,
                                         t.c.entity == entry.entity,
                                         t.c.batch_id.in_(replaces)))
        conn.execute(insert(t).values(**values))


def ledger_recent(tenant_id: str, entity: str, limit: int = 10,
                  url: str | None = None) -> list[LedgerEntry]:
    """The most recent ``limit`` ledger rows of one tenant's entity, newest first."""
    t = landing_ledger
    with engine(url).connect() as conn:
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.entity == entity)
                            .order_by(t.c.landed_at.desc(), t.c.id.desc()).limit(limit)).all()
    return [_entry(r) for r in rows]


def recent_median_rows(tenant_id: str, entity: str, limit: int = 10,
                       url: str | None = None) -> float | None:
    """Median ``rows_in`` of the recent non-empty landed batches (None without history).

    Blocked batches are not history: a collapsed batch must not lower the bar for the next.
    """
    rows = [e.rows_in for e in ledger_recent(tenant_id, entity, limit, url)
            if e.rows_in > 0 and e.counts_as_landed]
    return float(statistics.median(rows)) if rows else None


def ledger_blocked(tenant_id: str, entity: str | None = None,
                   url: str | None = None) -> list[LedgerEntry]:
    """The blocked batches of a tenant (optionally one entity), oldest first."""
    t = landing_ledger
    q = select(t).where(t.c.tenant_id == tenant_id, t.c.status == BLOCKED)
    if entity is not None:
        q = q.where(t.c.entity == entity)
    with engine(url).connect() as conn:
        rows = conn.execute(q.order_by(t.c.landed_at, t.c.id)).all()
    return [_entry(r) for r in rows]


def ledger_for_batch(tenant_id: str, batch_id: str, url: str | None = None
                     ) -> list[LedgerEntry]:
    """Every entity's ledger row of one batch (a unit feeding two entities has two)."""
    t = landing_ledger
    with engine(url).connect() as conn:
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id,
                                            t.c.batch_id == batch_id)).all()
    return [_entry(r) for r in rows]


def ledger_release(tenant_id: str, entity: str, batch_id: str, *, actor: str, reason: str,
                   url: str | None = None) -> None:
    """Mark a blocked batch released and append the decision to ``landing_audit``, atomically.

    Raises ``LookupError`` when the batch is not blocked (never released twice, never a
    batch of another tenant: the tenant id is part of the lookup).
    """
    t, a = landing_ledger, landing_audit
    with engine(url).begin() as conn:
        row = conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.entity == entity,
                                           t.c.batch_id == batch_id,
                                           t.c.status == BLOCKED)).first()
        if row is None:
            raise LookupError(f"tenant {tenant_id!r}: no blocked batch {batch_id!r} of "
                              f"{entity}")
        conn.execute(update(t).where(t.c.id == row._mapping["id"]).values(status=RELEASED))
        conn.execute(insert(a).values(tenant_id=tenant_id, entity=entity, batch_id=batch_id,
                                      action="release", actor=actor, reason=reason,
                                      blocked_reasons=row._mapping["reasons"], at=_utcnow()))


def ledger_released(tenant_id: str, url: str | None = None) -> list[LedgerEntry]:
    """The batches operators released (checked at each landing start for unfinished moves)."""
    t = landing_ledger
    with engine(url).connect() as conn:
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id,
                                            t.c.status == RELEASED)).all()
    return [_entry(r) for r in rows]


def ledger_delete(tenant_id: str, entity: str, batch_id: str, url: str | None = None) -> None:
    """Drop the ledger row of a batch a newer version replaced."""
    t = landing_ledger
    with engine(url).begin() as conn:
        conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.entity == entity,
                                     t.c.batch_id == batch_id))


def audit_entries(tenant_id: str, url: str | None = None) -> list[dict]:
    """The landing audit of one tenant, oldest first."""
    a = landing_audit
    with engine(url).connect() as conn:
        rows = conn.execute(select(a).where(a.c.tenant_id == tenant_id)
                            .order_by(a.c.at, a.c.id)).all()
    return [dict(r._mapping) for r in rows]


# --------------------------------------------------------------------------- cursors


def get_cursor(tenant_id: str, source_name: str, url: str | None = None) -> str | None:
    """The stored incremental cursor of one tenant's source (None before the first pull)."""
    c = cursors
    with engine(url).connect() as conn:
        return conn.execute(select(c.c.value).where(c.c.tenant_id == tenant_id,
                                                    c.c.source_name == source_name)).scalar()


def set_cursor(tenant_id: str, source_name: str, value: str | None,
               url: str | None = None) -> None:
    """Store the cursor after a unit landed (update-or-insert in one transaction)."""
    c = cursors
    with engine(url).begin() as conn:
        res = conn.execute(update(c).where(c.c.tenant_id == tenant_id,
                                           c.c.source_name == source_name)
                           .values(value=value, updated_at=_utcnow()))
        if res.rowcount == 0:
            conn.execute(insert(c).values(tenant_id=tenant_id, source_name=source_name,
                                          value=value, updated_at=_utcnow()))
