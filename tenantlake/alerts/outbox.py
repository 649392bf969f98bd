"""The outbox: alerts as rows with states, moved only by the functions here.

States::

    pending_approval -> approved | rejected
    approved -> sending -> delivered
                       -> retry_wait | destination_rejected -> sending ... -> dead_letter

An alert that needs no approval starts ``approved``. Approval freezes the payload's hash
(``approved_hash``); delivery sends an approval-required alert only while its payload still has
that hash, so an edited payload (or one rebuilt differently by the rule builder) goes back to
``pending_approval``. Every transition is a compare-and-set on the row's state plus an audit
entry in the same transaction (:mod:`tenantlake.alerts.audit`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError

from tenantlake.alerts.audit import Chain, ChainConflict, canonical_json
from tenantlake.alerts.store import alerts_engine, holds, outbox
from tenantlake.tenants import validate_tenant_id

log = logging.getLogger(__name__)

PENDING = "pending_approval"
APPROVED = "approved"
REJECTED = "rejected"
SENDING = "sending"
RETRY_WAIT = "retry_wait"
DEST_REJECTED = "destination_rejected"
DELIVERED = "delivered"
DEAD_LETTER = "dead_letter"
STATES = (PENDING, APPROVED, REJECTED, SENDING, RETRY_WAIT, DEST_REJECTED, DELIVERED,
          DEAD_LETTER)
#: States delivery picks up when due.
DUE_STATES = (APPROVED, RETRY_WAIT, DEST_REJECTED)

#: Backoff schedule: base * 2^(attempt-1), capped; "equal jitter" (half fixed, half random).
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0

T = TypeVar("T")


class AlertError(ValueError):
    """A request the outbox refuses (unknown alert, wrong state); the message says why."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _naive(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    return now.astimezone(dt.timezone.utc).replace(tzinfo=None) if now.tzinfo else now


def payload_hash(payload: dict) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def backoff_seconds(alert_id: str, attempt: int) -> float:
    """Delay before retry ``attempt`` (1-based): bounded exponential with equal jitter.

    The jitter is drawn from a generator seeded by the alert and attempt, so a schedule is
    reproducible (tests) while different alerts still spread out.
    """
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    rng = random.Random(f"{alert_id}:{attempt}")
    return delay / 2 + rng.uniform(0, delay / 2)


def entity_key(entity: dict[str, Any]) -> str:
    """``k=v|k=v`` in the entity's column order: stable and readable."""
    return "|".join(f"{k}={entity[k]}" for k in entity)


def idempotency_key(tenant_id: str, rule: str, entity: dict[str, Any], window: str) -> str:
    return f"{tenant_id}:{rule}:{entity_key(entity)}:{window}"


def make_alert_id(key: str, channel: str) -> str:
    return hashlib.sha256(f"{key}#{channel}".encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class Candidate:
    """An alert the rule builder wants to exist (not yet in the outbox)."""

    tenant_id: str
    rule: str
    channel: str
    entity: dict[str, Any]
    window: str
    subject: str  # model | kpi
    source_ref: str
    payload: dict
    requires_approval: bool
    model_name: str | None = None
    model_version: str | None = None
    score: float | None = None
    reasons: tuple[str, ...] = ()

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.tenant_id, self.rule, self.entity, self.window)

    @property
    def alert_id(self) -> str:
        return make_alert_id(self.idempotency_key, self.channel)


@dataclass(frozen=True)
class Alert:
    alert_id: str
    tenant_id: str
    rule: str
    channel: str
    entity: str
    window: str
    idempotency_key: str
    subject: str
    model_name: str | None
    model_version: str | None
    source_ref: str
    score: float | None
    reasons: list[str]
    payload: dict
    payload_hash: str
    requires_approval: bool
    approved_hash: str | None
    approved_by: str | None
    approved_at: dt.datetime | None
    state: str
    state_reason: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    lease_until: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    first_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, v in d.items():
            if isinstance(v, dt.datetime):
                d[k] = v.isoformat()
        return d


def _alert(row) -> Alert:
    m = dict(row._mapping)
    m.pop("id", None)
    m["reasons"] = json.loads(m["reasons"])
    m["payload"] = json.loads(m["payload"])
    return Alert(**m)


def run_tx(fn: Callable[[Connection], T], url: str | None = None, tries: int = 20) -> T:
    """Run ``fn(conn)`` in a transaction, retrying when a concurrent writer won a race
    (audit head moved, SQLite busy) — every transaction here is safe to repeat."""
    eng = alerts_engine(url)
    for i in range(tries):
        try:
            with eng.begin() as conn:
                return fn(conn)
        except (ChainConflict, IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and "locked" not in str(exc).lower() \
                    and "deadlock" not in str(exc).lower():
                raise
            if isinstance(exc, IntegrityError) and "alerts_audit" not in str(exc) \
                    and "uq_audit" not in str(exc):
                raise
            if i == tries - 1:
                raise
            time.sleep(min(0.5, 0.01 * 2 ** i) * random.random())
    raise AssertionError("unreachable")


def _transition(conn: Connection, chains: dict[str, Chain], a: Alert, to_state: str, *,
                actor: str, now: dt.datetime, detail: dict | None = None,
                payload_hash_after: str | None = None, **values) -> bool:
    """Move one alert from its current state (compare-and-set) and audit it; False if the row
    was no longer in that state."""
    res = conn.execute(update(outbox).where(outbox.c.alert_id == a.alert_id,
                                            outbox.c.state == a.state)
                       .values(state=to_state, updated_at=now, **values))
    if res.rowcount != 1:
        return False
    chain = chains.get(a.tenant_id)
    if chain is None:
        chain = chains[a.tenant_id] = Chain(conn, a.tenant_id)
    chain.append(alert_id=a.alert_id, actor=actor, at=now, from_state=a.state,
                 to_state=to_state, payload_hash=payload_hash_after or a.payload_hash,
                 model_version=a.model_version,
                 detail={"source_ref": a.source_ref, "attempt": values.get("attempts", a.attempts),
                         **(detail or {})})
    return True


def _close(chains: dict[str, Chain]) -> None:
    for c in chains.values():
        c.close()


# ------------------------------------------------------------------------------ building


@dataclass
class EnqueueResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: Alerts whose payload changed after approval: back to pending_approval.
    reapproval: list[str] = field(default_factory=list)


def enqueue(candidates: Iterable[Candidate], *, now: dt.datetime | None = None,
            actor: str = "rule-builder", url: str | None = None) -> EnqueueResult:
    """Insert new alerts; the same (tenant, rule, entity, window, channel) again is a no-op
    unless its payload changed before delivery, which then needs approval again."""
    now = _naive(now)
    result = EnqueueResult()
    by_tenant: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_tenant.setdefault(validate_tenant_id(c.tenant_id), []).append(c)
    for tenant_id, cands in by_tenant.items():
        for chunk_start in range(0, len(cands), 200):
            chunk = cands[chunk_start:chunk_start + 200]
            run_tx(lambda conn, chunk=chunk: _enqueue_chunk(conn, tenant_id, chunk, now, actor,
                                                            result), url)
    return result


def _enqueue_chunk(conn: Connection, tenant_id: str, chunk: Sequence[Candidate],
                   now: dt.datetime, actor: str, result: EnqueueResult) -> None:
    chains: dict[str, Chain] = {}
    ids = [c.alert_id for c in chunk]
    existing = {r.alert_id: _alert(r) for r in conn.execute(
        select(outbox).where(outbox.c.tenant_id == tenant_id, outbox.c.alert_id.in_(ids)))}
    created, unchanged, reapproval = [], [], []
    for c in chunk:
        if c.tenant_id != tenant_id or c.payload.get("tenant_id") != tenant_id:
            raise AlertError(f"tenant_id={tenant_id}: alert {c.alert_id} carries another "
                             "tenant's data; refused")
        h = payload_hash(c.payload)
        old = existing.get(c.alert_id)
        if old is None:
            state = PENDING if c.requires_approval else APPROVED
            conn.execute(insert(outbox).values(
                alert_id=c.alert_id, tenant_id=tenant_id, rule=c.rule, channel=c.channel,
                entity=entity_key(c.entity), window=c.window,
                idempotency_key=c.idempotency_key, subject=c.subject, model_name=c.model_name,
                model_version=c.model_version, source_ref=c.source_ref, score=c.score,
                reasons=json.dumps(list(c.reasons)), payload=canonical_json(c.payload),
                payload_hash=h, requires_approval=c.requires_approval, state=state,
                attempts=0, next_attempt_at=now if state == APPROVED else None,
                created_at=now, updated_at=now))
            chain = chains.get(tenant_id) or chains.setdefault(tenant_id, Chain(conn, tenant_id))
            chain.append(alert_id=c.alert_id, actor=actor, at=now, from_state=None,
                         to_state=state, payload_hash=h, model_version=c.model_version,
                         detail={"source_ref": c.source_ref, "rule": c.rule,
                                 "idempotency_key": c.idempotency_key, "score": c.score})
            created.append(c.alert_id)
        elif old.payload_hash == h or old.state in (DELIVERED, SENDING, REJECTED, DEAD_LETTER):
            unchanged.append(c.alert_id)  # same alert, or already decided/sent: never resent
        else:
            # Rebuilt with different content (e.g. rescored by a new model version) before it
            # left: the new payload replaces the old, and an approval covers only the old one.
            to_state = PENDING if c.requires_approval else old.state
            ok = _transition(conn, chains, old, to_state, actor=actor, now=now,
                             payload_hash_after=h,
                             detail={"reason": "payload changed by rebuild",
                                     "old_payload_hash": old.payload_hash,
                                     "source_ref": c.source_ref},
                             payload=canonical_json(c.payload), payload_hash=h,
                             model_version=c.model_version, source_ref=c.source_ref,
                             score=c.score, reasons=json.dumps(list(c.reasons)),
                             approved_hash=None if c.requires_approval else old.approved_hash,
                             state_reason="payload changed; needs approval again"
                             if c.requires_approval else old.state_reason)
            (reapproval if ok and c.requires_approval else unchanged).append(c.alert_id)
    _close(chains)
    result.created += created
    result.unchanged += unchanged
    result.reapproval += reapproval


# ------------------------------------------------------------------------------ reading


def get(alert_id: str, url: str | None = None) -> Alert:
    with alerts_engine(url).connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.alert_id == alert_id)).first()
    if row is None:
        raise AlertError(f"no alert {alert_id!r}; see `tenantlake alerts list`")
    return _alert(row)


def list_alerts(tenant_id: str | None = None, states: Sequence[str] | None = None, *,
                rule: str | None = None, limit: int | None = None,
                url: str | None = None) -> list[Alert]:
    """Alerts, newest first (optionally one tenant's, in some states, of one rule)."""
    q = select(outbox)
    if tenant_id is not None:
        q = q.where(outbox.c.tenant_id == validate_tenant_id(tenant_id))
    if states:
        q = q.where(outbox.c.state.in_(list(states)))
    if rule:
        q = q.where(outbox.c.rule == rule)
    q = q.order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
    if limit:
        q = q.limit(limit)
    with alerts_engine(url).connect() as conn:
        return [_alert(r) for r in conn.execute(q)]


def state_counts(tenant_id: str | None = None, url: str | None = None) -> dict[str, int]:
    q = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    if tenant_id is not None:
        q = q.where(outbox.c.tenant_id == validate_tenant_id(tenant_id))
    with alerts_engine(url).connect() as conn:
        return {s: int(n) for s, n in conn.execute(q)}


def recent_entities(tenant_id: str, rule: str, since: dt.datetime,
                    url: str | None = None) -> set[tuple[str, str]]:
    """(entity, window) pairs this rule alerted on since ``since`` (cooldown)."""
    q = select(outbox.c.entity, outbox.c.window).where(
        outbox.c.tenant_id == validate_tenant_id(tenant_id), outbox.c.rule == rule,
        outbox.c.created_at >= _naive(since)).distinct()
    with alerts_engine(url).connect() as conn:
        return {(r.entity, r.window) for r in conn.execute(q)}


def created_count(tenant_id: str, rule: str, since: dt.datetime, url: str | None = None) -> int:
    """Distinct alerts (idempotency keys) this rule created since ``since`` (daily budget)."""
    q = select(func.count(func.distinct(outbox.c.idempotency_key))).where(
        outbox.c.tenant_id == validate_tenant_id(tenant_id), outbox.c.rule == rule,
        outbox.c.created_at >= _naive(since))
    with alerts_engine(url).connect() as conn:
        return int(conn.execute(q).scalar() or 0)


# ------------------------------------------------------------------------------ people


def _one(conn: Connection, alert_id: str) -> Alert:
    row = conn.execute(select(outbox).where(outbox.c.alert_id == alert_id)).first()
    if row is None:
        raise AlertError(f"no alert {alert_id!r}; see `tenantlake alerts list`")
    return _alert(row)


def approve(alert_id: str, actor: str, *, payload: dict | None = None,
            now: dt.datetime | None = None, url: str | None = None) -> Alert:
    """Approve a pending alert, freezing its payload hash; with ``payload``, edit and approve
    in one step (the edited payload is what gets frozen and sent)."""
    now = _naive(now)

    def tx(conn: Connection) -> None:
        a = _one(conn, alert_id)
        if a.state != PENDING:
            raise AlertError(f"alert {alert_id} is {a.state}, not {PENDING}; only pending "
                             "alerts can be approved")
        chains: dict[str, Chain] = {}
        values: dict = {}
        detail: dict = {"approved_by": actor}
        h = a.payload_hash
        if payload is not None:
            _check_edit(a, payload)
            h = payload_hash(payload)
            values = {"payload": canonical_json(payload), "payload_hash": h}
            detail.update(edited=True, old_payload_hash=a.payload_hash)
        if not _transition(conn, chains, a, APPROVED, actor=actor, now=now, detail=detail,
                           payload_hash_after=h, approved_hash=h, approved_by=actor,
                           approved_at=now, next_attempt_at=now, state_reason=None, **values):
            raise ChainConflict("state changed")
        _close(chains)

    run_tx(tx, url)
    return get(alert_id, url)


def _check_edit(a: Alert, payload: dict) -> None:
    if not isinstance(payload, dict):
        raise AlertError(f"alert {a.alert_id}: an edited payload must be a JSON object")
    fixed = ("alert_id", "idempotency_key", "tenant_id")
    for k in fixed:
        if payload.get(k) != a.payload.get(k):
            raise AlertError(f"alert {a.alert_id}: the edit may not change {k!r} "
                             f"({a.payload.get(k)!r} -> {payload.get(k)!r})")


def edit(alert_id: str, actor: str, payload: dict, *, now: dt.datetime | None = None,
         url: str | None = None) -> Alert:
    """Change an undelivered alert's payload; it then waits for (re-)approval."""
    now = _naive(now)

    def tx(conn: Connection) -> None:
        a = _one(conn, alert_id)
        if a.state not in (PENDING, APPROVED, RETRY_WAIT, DEST_REJECTED):
            raise AlertError(f"alert {alert_id} is {a.state}; only alerts that have not left "
                             "can be edited")
        _check_edit(a, payload)
        h = payload_hash(payload)
        chains: dict[str, Chain] = {}
        if not _transition(conn, chains, a, PENDING, actor=actor, now=now, payload_hash_after=h,
                           detail={"edited": True, "old_payload_hash": a.payload_hash},
                           payload=canonical_json(payload), payload_hash=h, approved_hash=None,
                           approved_by=None, approved_at=None, requires_approval=True,
                           state_reason=f"edited by {actor}; needs approval"):
            raise ChainConflict("state changed")
        _close(chains)

    run_tx(tx, url)
    return get(alert_id, url)


def reject(alert_id: str, actor: str, reason: str, *, now: dt.datetime | None = None,
           url: str | None = None) -> Alert:
    """Reject a pending alert for good (it is never sent); ``reason`` is required."""
    now = _naive(now)
    if not reason or not reason.strip():
        raise AlertError("a rejection needs a reason (--reason '...')")

    def tx(conn: Connection) -> None:
        a = _one(conn, alert_id)
        if a.state != PENDING:
            raise AlertError(f"alert {alert_id} is {a.state}, not {PENDING}; only pending "
                             "alerts can be rejected")
        chains: dict[str, Chain] = {}
        if not _transition(conn, chains, a, REJECTED, actor=actor, now=now,
                           detail={"reason": reason.strip(), "rejected_by": actor},
                           state_reason=reason.strip(), next_attempt_at=None):
            raise ChainConflict("state changed")
        _close(chains)

    run_tx(tx, url)
    return get(alert_id, url)


def replay(alert_id: str, actor: str, *, now: dt.datetime | None = None,
           url: str | None = None) -> Alert:
    """Send a delivered or dead-lettered alert again, under the same idempotency key (a
    receiver that dedupes sees a duplicate of the same message, never a new alert)."""
    now = _naive(now)

    def tx(conn: Connection) -> None:
        a = _one(conn, alert_id)
        if a.state not in (DELIVERED, DEAD_LETTER):
            raise AlertError(f"alert {alert_id} is {a.state}; replay is for delivered or "
                             "dead-lettered alerts")
        needs = a.requires_approval and a.approved_hash != a.payload_hash
        chains: dict[str, Chain] = {}
        if not _transition(conn, chains, a, PENDING if needs else APPROVED, actor=actor, now=now,
                           detail={"replay": True}, attempts=0, next_attempt_at=now,
                           last_error=None, state_reason=f"replayed by {actor}"):
            raise ChainConflict("state changed")
        _close(chains)

    run_tx(tx, url)
    return get(alert_id, url)


# ------------------------------------------------------------------------------ holds


def set_hold(tenant_id: str, reason: str | None, *, now: dt.datetime | None = None,
             url: str | None = None) -> None:
    """Hold (reason) or release (None) a tenant's alerts; delivery skips held tenants."""
    now = _naive(now)
    validate_tenant_id(tenant_id)

    def tx(conn: Connection) -> None:
        row = conn.execute(select(holds).where(holds.c.tenant_id == tenant_id)).first()
        since = (row.since if row is not None and row.reason and reason else now) \
            if reason else None
        if row is None:
            conn.execute(insert(holds).values(tenant_id=tenant_id, reason=reason, since=since,
                                              checked_at=now))
        else:
            conn.execute(update(holds).where(holds.c.tenant_id == tenant_id)
                         .values(reason=reason, since=since, checked_at=now))

    run_tx(tx, url)
    if reason:
        log.warning("tenant_id=%s alerts held: %s", tenant_id, reason)


def get_hold(tenant_id: str, url: str | None = None) -> tuple[str, dt.datetime] | None:
    """(reason, since) when the tenant's alerts are held, else None."""
    with alerts_engine(url).connect() as conn:
        row = conn.execute(select(holds).where(
            holds.c.tenant_id == validate_tenant_id(tenant_id))).first()
    return (row.reason, row.since) if row is not None and row.reason else None


# ------------------------------------------------------------------------------ delivery side


def due(now: dt.datetime, *, tenant_id: str | None = None, channel: str | None = None,
        limit: int = 100, url: str | None = None) -> list[Alert]:
    """Alerts ready to (re)send now, oldest first."""
    q = select(outbox).where(outbox.c.state.in_(DUE_STATES),
                             or_(outbox.c.next_attempt_at.is_(None),
                                 outbox.c.next_attempt_at <= now))
    if tenant_id is not None:
        q = q.where(outbox.c.tenant_id == tenant_id)
    if channel is not None:
        q = q.where(outbox.c.channel == channel)
    q = q.order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    with alerts_engine(url).connect() as conn:
        return [_alert(r) for r in conn.execute(q)]


def due_groups(now: dt.datetime, url: str | None = None) -> list[tuple[str, str]]:
    """(tenant, channel) pairs with alerts due now."""
    q = select(outbox.c.tenant_id, outbox.c.channel).where(
        outbox.c.state.in_(DUE_STATES),
        or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now)).distinct()
    with alerts_engine(url).connect() as conn:
        return sorted((r.tenant_id, r.channel) for r in conn.execute(q))


def delivered_since(tenant_id: str, channel: str, since: dt.datetime,
                    url: str | None = None) -> int:
    """Deliveries (and sends in flight) on one channel since ``since`` (rate limits)."""
    q = select(func.count()).where(
        outbox.c.tenant_id == tenant_id, outbox.c.channel == channel,
        or_(and_(outbox.c.state == DELIVERED, outbox.c.delivered_at >= since),
            outbox.c.state == SENDING))
    with alerts_engine(url).connect() as conn:
        return int(conn.execute(q).scalar() or 0)


def reclaim_expired(now: dt.datetime, actor: str = "delivery",
                    url: str | None = None) -> list[str]:
    """Alerts left in ``sending`` by a delivery process that died (lease expired): due again.

    They are re-sent under the same id, so a receiver that already got one sees a duplicate of
    the same idempotency key, never a second alert.
    """
    q = select(outbox).where(outbox.c.state == SENDING, outbox.c.lease_until < now)
    with alerts_engine(url).connect() as conn:
        stuck = [_alert(r) for r in conn.execute(q)]
    done: list[str] = []
    if not stuck:
        return done

    def tx(conn: Connection) -> None:
        chains: dict[str, Chain] = {}
        done.clear()
        for a in stuck:
            if _transition(conn, chains, a, RETRY_WAIT, actor=actor, now=now,
                           detail={"reason": "delivery lease expired (the delivery process "
                                             "stopped mid-batch)"},
                           next_attempt_at=now, lease_until=None,
                           last_error="delivery interrupted; resending"):
                done.append(a.alert_id)
        _close(chains)

    run_tx(tx, url)
    return done


def _bulk_cas(conn: Connection, alerts: Sequence[Alert], cols: tuple, expected, *,
              values: dict) -> set[str]:
    """UPDATE the rows of ``alerts`` whose ``cols`` still equal ``expected(alert)``, in one
    statement; returns the ids it changed."""
    if not alerts:
        return set()
    key = tuple_(outbox.c.alert_id, *cols)
    res = conn.execute(update(outbox).where(key.in_([(a.alert_id, *expected(a)) for a in alerts]))
                       .values(**values).returning(outbox.c.alert_id))
    return {r.alert_id for r in res}


def _audit(chains: dict[str, Chain], conn: Connection, a: Alert, to_state: str, *, actor: str,
           now: dt.datetime, detail: dict) -> None:
    chain = chains.get(a.tenant_id)
    if chain is None:
        chain = chains[a.tenant_id] = Chain(conn, a.tenant_id)
    chain.append(alert_id=a.alert_id, actor=actor, at=now, from_state=a.state,
                 to_state=to_state, payload_hash=a.payload_hash, model_version=a.model_version,
                 detail=detail)


def claim(alerts: Sequence[Alert], now: dt.datetime, lease_seconds: float,
          actor: str = "delivery", url: str | None = None) -> tuple[list[Alert], list[str]]:
    """Move due alerts to ``sending`` (one transaction). Returns (claimed, sent back to
    approval because their payload no longer has the approved hash)."""
    claimed: list[Alert] = []
    back: list[str] = []
    lease = now + dt.timedelta(seconds=lease_seconds)

    def tx(conn: Connection) -> None:
        claimed.clear()
        back.clear()
        chains: dict[str, Chain] = {}
        ready = []
        for a in alerts:
            if a.requires_approval and a.approved_hash != a.payload_hash:
                if _transition(conn, chains, a, PENDING, actor=actor, now=now,
                               detail={"reason": "payload differs from the approved one"},
                               approved_hash=None, next_attempt_at=None,
                               state_reason="payload differs from the approved one"):
                    back.append(a.alert_id)
                continue
            ready.append(a)
        # One compare-and-set for the batch: a row is claimed only if its state and payload are
        # still what was read (another worker's claim, an edit or a rebuild leave it alone).
        got = _bulk_cas(conn, ready, (outbox.c.state, outbox.c.payload_hash),
                        lambda a: (a.state, a.payload_hash), values=dict(
                            state=SENDING, updated_at=now, attempts=outbox.c.attempts + 1,
                            lease_until=lease,
                            first_attempt_at=func.coalesce(outbox.c.first_attempt_at, now)))
        for a in ready:
            if a.alert_id not in got:
                continue
            attempts = a.attempts + 1
            _audit(chains, conn, a, SENDING, actor=actor, now=now,
                   detail={"source_ref": a.source_ref, "attempt": attempts})
            claimed.append(_replace(a, state=SENDING, attempts=attempts, lease_until=lease,
                                    first_attempt_at=a.first_attempt_at or now))
        _close(chains)

    run_tx(tx, url)
    return claimed, back


def _replace(a: Alert, **changes) -> Alert:
    return Alert(**{**{k: getattr(a, k) for k in a.__dataclass_fields__}, **changes})


@dataclass(frozen=True)
class Outcome:
    """What a channel did with one alert: ``delivered``, ``rejected`` (the destination refused
    this row: retried later), ``failed`` (transient: network, 5xx, timeout)."""

    alert_id: str
    status: str
    reason: str | None = None


def record(claimed: Sequence[Alert], outcomes: dict[str, Outcome], now: dt.datetime,
           max_attempts: int, actor: str = "delivery",
           url: str | None = None) -> dict[str, str]:
    """Store each claimed alert's outcome (one transaction); returns {alert_id: new state}."""
    new_states: dict[str, str] = {}

    def tx(conn: Connection) -> None:
        new_states.clear()
        chains: dict[str, Chain] = {}
        done = [a for a in claimed if (o := outcomes.get(a.alert_id)) is not None
                and o.status == "delivered"]
        # still ours: sending, with the attempt count of our claim (not re-claimed by another)
        got = _bulk_cas(conn, done, (outbox.c.state, outbox.c.attempts),
                        lambda a: (SENDING, a.attempts), values=dict(
                            state=DELIVERED, updated_at=now, delivered_at=now, lease_until=None,
                            next_attempt_at=None, last_error=None, state_reason=None))
        for a in done:
            if a.alert_id in got:
                _audit(chains, conn, a, DELIVERED, actor=actor, now=now,
                       detail={"source_ref": a.source_ref, "attempt": a.attempts,
                               "channel": a.channel})
                new_states[a.alert_id] = DELIVERED
        for a in claimed:
            o = outcomes.get(a.alert_id) or Outcome(a.alert_id, "failed",
                                                    "the channel returned no outcome")
            if o.status == "delivered":
                continue
            if a.attempts >= max_attempts:
                to = DEAD_LETTER
                ok = _transition(conn, chains, a, to, actor=actor, now=now,
                                 detail={"reason": o.reason, "attempts": a.attempts},
                                 lease_until=None, next_attempt_at=None,
                                 last_error=o.reason,
                                 state_reason=f"gave up after {a.attempts} attempts: {o.reason}")
            else:
                to = DEST_REJECTED if o.status == "rejected" else RETRY_WAIT
                wait = backoff_seconds(a.alert_id, a.attempts)
                ok = _transition(conn, chains, a, to, actor=actor, now=now,
                                 detail={"reason": o.reason, "retry_in_s": round(wait, 1)},
                                 lease_until=None,
                                 next_attempt_at=now + dt.timedelta(seconds=wait),
                                 last_error=o.reason, state_reason=o.reason)
            if ok:
                new_states[a.alert_id] = to
        _close(chains)

    run_tx(tx, url)
    return new_states
