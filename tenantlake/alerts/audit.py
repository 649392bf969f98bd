"""The append-only audit log of alert state changes, chained by hash, one chain per tenant.

Each entry's hash covers its own fields and the previous entry's hash, so changing, removing or
re-ordering any entry (or cutting the chain's tail: the head row keeps the last sequence number
and hash) breaks :func:`verify`. Entries are written by :class:`Chain` inside the same
transaction as the state change they record, and the chain's head moves by compare-and-set:
two writers that read the same head cannot both commit (the loser retries its transaction).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, select, update

from tenantlake.alerts.store import alerts_engine, audit, audit_heads

GENESIS = "0" * 64


class ChainConflict(RuntimeError):
    """Another writer moved the chain's head (or the outbox row) first; retry the transaction."""


def canonical_json(value) -> str:
    """JSON with sorted keys and no spaces: the bytes hashes are taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _ts(at: dt.datetime) -> str:
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, *, tenant_id: str, seq: int, alert_id: str, actor: str,
               at: dt.datetime, from_state: str | None, to_state: str,
               payload_hash: str | None, model_version: str | None, detail: str) -> str:
    body = canonical_json({
        "tenant_id": tenant_id, "seq": seq, "alert_id": alert_id, "actor": actor, "at": _ts(at),
        "from_state": from_state, "to_state": to_state, "payload_hash": payload_hash,
        "model_version": model_version, "detail": detail, "prev_hash": prev_hash})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class Chain:
    """Appends entries for one tenant inside an open transaction; :meth:`close` writes them
    and moves the head (call it before the transaction commits)."""

    conn: Connection
    tenant_id: str
    _seq: int = -1
    _hash: str = GENESIS
    _start: int | None = None
    _exists: bool = False
    entries: int = field(default=0)
    _rows: list = field(default_factory=list)

    def __post_init__(self) -> None:
        row = self.conn.execute(select(audit_heads.c.seq, audit_heads.c.entry_hash)
                                .where(audit_heads.c.tenant_id == self.tenant_id)).first()
        if row is not None:
            self._seq, self._hash, self._exists = int(row.seq), row.entry_hash, True
        else:
            self._seq, self._hash = 0, GENESIS
        self._start = self._seq

    def append(self, *, alert_id: str, actor: str, at: dt.datetime, from_state: str | None,
               to_state: str, payload_hash: str | None, model_version: str | None,
               detail: dict | None = None) -> None:
        at = at.replace(tzinfo=None, microsecond=at.microsecond)
        seq = self._seq + 1
        d = canonical_json(detail or {})
        h = entry_hash(self._hash, tenant_id=self.tenant_id, seq=seq, alert_id=alert_id,
                       actor=actor, at=at, from_state=from_state, to_state=to_state,
                       payload_hash=payload_hash, model_version=model_version, detail=d)
        self._rows.append(dict(
            tenant_id=self.tenant_id, seq=seq, alert_id=alert_id, actor=actor, at=at,
            from_state=from_state, to_state=to_state, payload_hash=payload_hash,
            model_version=model_version, detail=d, prev_hash=self._hash, entry_hash=h))
        self._seq, self._hash = seq, h
        self.entries += 1

    def close(self) -> None:
        """Move the head from where it was read to the last appended entry (compare-and-set)."""
        if self.entries == 0:
            return
        self.conn.execute(insert(audit), self._rows)  # one round trip for the batch
        self._rows = []
        if not self._exists:
            # A unique primary key: a second writer creating the same head fails, and retries.
            self.conn.execute(insert(audit_heads).values(
                tenant_id=self.tenant_id, seq=self._seq, entry_hash=self._hash))
            return
        res = self.conn.execute(update(audit_heads).where(
            audit_heads.c.tenant_id == self.tenant_id, audit_heads.c.seq == self._start)
            .values(seq=self._seq, entry_hash=self._hash))
        if res.rowcount != 1:
            raise ChainConflict(f"tenant_id={self.tenant_id}: audit chain head moved")


@dataclass(frozen=True)
class VerifyResult:
    tenant_id: str
    entries: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(tenant_id: str | None = None, url: str | None = None) -> list[VerifyResult]:
    """Recompute every chain (or one tenant's) and compare with the stored hashes and head."""
    eng = alerts_engine(url)
    out: list[VerifyResult] = []
    with eng.connect() as conn:
        heads = {r.tenant_id: r for r in conn.execute(select(audit_heads))}
        q = select(audit.c.tenant_id).distinct()
        tenants = sorted({r.tenant_id for r in conn.execute(q)} | set(heads))
        if tenant_id is not None:
            tenants = [t for t in tenants if t == tenant_id] or [tenant_id]
        for t in tenants:
            problems: list[str] = []
            prev, expect_seq, n = GENESIS, 1, 0
            rows = conn.execute(select(audit).where(audit.c.tenant_id == t)
                                .order_by(audit.c.seq, audit.c.id))
            for r in rows:
                n += 1
                if r.seq != expect_seq:
                    problems.append(f"entry seq {r.seq}: expected seq {expect_seq} "
                                    "(an entry was removed or inserted)")
                if r.prev_hash != prev:
                    problems.append(f"entry seq {r.seq} (alert {r.alert_id}): prev_hash does not "
                                    "match the previous entry")
                h = entry_hash(r.prev_hash, tenant_id=r.tenant_id, seq=r.seq,
                               alert_id=r.alert_id, actor=r.actor, at=r.at,
                               from_state=r.from_state, to_state=r.to_state,
                               payload_hash=r.payload_hash, model_version=r.model_version,
                               detail=r.detail)
                if h != r.entry_hash:
                    problems.append(f"entry seq {r.seq} (alert {r.alert_id}): content does not "
                                    "match its hash (the entry was changed)")
                prev, expect_seq = r.entry_hash, r.seq + 1
            head = heads.get(t)
            if head is None and n:
                problems.append("the chain has entries but no head row")
            elif head is not None and (head.seq != expect_seq - 1 or head.entry_hash != prev):
                problems.append(f"the chain ends at seq {expect_seq - 1} but its head says seq "
                                f"{head.seq} (entries were removed from the end, or the head "
                                "was changed)")
            out.append(VerifyResult(t, n, tuple(problems)))
    return out


def history(alert_id: str, url: str | None = None) -> list[dict]:
    """Every audit entry of one alert, oldest first."""
    eng = alerts_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(select(audit).where(audit.c.alert_id == alert_id)
                            .order_by(audit.c.seq, audit.c.id)).all()
    return [{**dict(r._mapping), "detail": json.loads(r.detail)} for r in rows]
