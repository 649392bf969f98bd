"""Land one tenant: read every source unit, map, validate, write batches, gate, record.

Write protocol per (unit, entity) batch — why each step is where it is:

1. ``lake.clean_orphans`` at start removes temp files of killed writers.
2. The batch id is derived from the unit's content hash, so the raw file name is deterministic:
   ``lake/raw/<entity>/tenant=<id>/date=<landing date>/<batch_id>.parquet``.
3. Good rows stream into a temp file (``lake.atomic_write``), bad rows into the quarantine temp
   file; both are fsynced and renamed only when the whole unit was read: the quarantine into
   place, the good rows into ``lake/held`` (never read downstream). A reader
   never sees a file without a footer; a failed read leaves nothing. Rows whose key an
   earlier frame had are only known after the stream: they are taken out of the raw temp file
   and quarantined before the rename (:func:`_quarantine_duplicates`).
4. Copies of the same batch under another date (a crash yesterday after the rename, before the
   ledger) and batches of an earlier version of the same file (same label, other content) are
   deleted: a changed file replaces its predecessor, never duplicates it.
5. After every unit of the run was read, each new batch's quality gate is evaluated
   (:func:`tenantlake.landing.gate.evaluate_gate`). A batch that passes is renamed from
   ``held`` into ``raw`` and then recorded ``landed``; one that fails stays in ``held`` and is
   recorded ``blocked`` with its reasons. The ledger row is written last. Landing the same
   content again is a no-op (a blocked batch stays blocked and its reasons fail the gate again,
   word for word); a crash between 3 and 5 re-lands the unit into the same file name on the
   next run — no duplicates either way. A blocked batch leaves that state only when a corrected
   file (same name, new content) replaces it, or by :func:`release_batch` (audited).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from tenantlake import lake, store
from tenantlake.redact import install as install_redaction
from tenantlake.redact import redact, register_tenant_secrets
from tenantlake.contracts import arrow_schema, get_contract
from tenantlake.landing.errors import (
    DropFolderMissingError,
    LandingConfigError,
    LandingError,
)
from tenantlake.landing.gate import GxSampler, evaluate_gate, run_gx_check
from tenantlake.landing.report import EntityReport, LandingReport
from tenantlake.landing.sources import SourceUnit, iter_units
from tenantlake.landing.sources.files import RESERVED, check_drop_folder
from tenantlake.landing.transform import (
    DRIFT_PREFIX,
    ChunkResult,
    KeyTracker,
    EntityPlan,
    resolve_duplicates,
    validate_mappings,
)
from tenantlake.tenants import Source, TenantConfig

_log = logging.getLogger(__name__)


class TenantLog(logging.LoggerAdapter):
    """Prefixes every line with ``tenant=<id>`` (conventions: tenant id in every log line)."""

    def process(self, msg, kwargs):
        return f"tenant={self.extra['tenant_id']} {msg}", kwargs


def batch_id_for(content_hash: str) -> str:
    """Deterministic, path-safe batch id of a unit (same content -> same file name)."""
    return "b" + hashlib.sha256(content_hash.encode()).hexdigest()[:24]


@dataclass
class RunContext:
    tenant: TenantConfig
    home: object
    landing_date: str
    ingested_at: dt.datetime
    store_url: str
    log: TenantLog
    history: dict[str, float | None] = field(default_factory=dict)
    gx_sample_rows: int = 10_000
    run_gx: bool = True
    #: Units read and staged this run: their ``on_landed`` (API/SQL cursors) runs only after
    #: the gate recorded their batches, so a cursor never moves past an unrecorded unit.
    staged_units: list = field(default_factory=list)


# --------------------------------------------------------------------------- writers

#: Rows per Parquet row group of landed files (frames are buffered up to this in the writer).
ROW_GROUP_ROWS = 1 << 17


def _dictionary_columns(schema) -> list[str]:
    """Columns worth dictionary encoding: text, dates and booleans (few distinct values).

    Why not all (pyarrow's default): amounts, quantities, row numbers and timestamps are mostly
    distinct, so their dictionaries are built and then thrown away page after page; skipping
    them made Parquet encoding ~35% faster for ~9% larger files.
    """
    import pyarrow as pa

    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal,
               pa.types.is_timestamp)
    return [f.name for f in schema if not any(test(f.type) for test in numeric)]


class _StreamWriter:
    """A Parquet file written chunk by chunk into a temp name and renamed on commit.

    With ``schema`` the file has exactly that schema (raw layer); without, the schema is taken
    from the first chunk and later chunks are aligned to it (quarantine: the source's columns as
    strings; columns a later chunk adds are packed as JSON into ``_other_values``).

    Encoding Parquet pages is single-threaded and releases the GIL, so it runs in a background
    thread (at most one table queued) while the next frame is transformed.
    """

    def __init__(self, target: Path, schema=None, crash_stage: str | None = None) -> None:
        self.target = target
        self.schema = schema
        self._crash_stage = crash_stage
        self._cm = None
        self._tmp: Path | None = None
        self._writer = None
        self._closed = False
        self._queue = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        import pyarrow.parquet as pq

        if frame.height == 0:
            return
        if self._writer is None:
            if self.schema is None:
                frame = frame.with_columns(pl.lit(None, pl.String).alias("_other_values"))
                self.schema = frame.to_arrow().schema
            self._cm = lake.atomic_write(self.target)
            self._tmp = tmp = self._cm.__enter__()
            self._writer = pq.ParquetWriter(tmp, self.schema, compression="snappy",
                                            use_dictionary=_dictionary_columns(self.schema))
            self._start()
        if self._error is not None:
            raise self._error
        self._queue.put(self._align(frame))
        self.rows += frame.height

    def _start(self) -> None:
        import queue

        self._queue = queue.Queue(maxsize=1)

        def drain() -> None:
            pending: list = []
            rows = 0
            while True:
                table = self._queue.get()
                if table is not None:
                    pending.append(table)
                    rows += table.num_rows
                if pending and (table is None or rows >= ROW_GROUP_ROWS):
                    self._write_row_group(pending)
                    pending, rows = [], 0
                if table is None:
                    return

        self._thread = threading.Thread(target=drain, name="parquet-writer", daemon=True)
        self._thread.start()

    def _write_row_group(self, tables: list) -> None:
        """One row group from the queued frames (writer thread; errors re-raised by the caller).

        Why buffer: frames are small (bounded memory upstream), and one row group per frame
        would make many tiny row groups (worse compression, bigger footers, slower scans).
        """
        import pyarrow as pa

        if self._error is not None:
            return
        try:
            table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            if self._crash_stage:
                crash_point(self._crash_stage)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller
            self._error = exc

    def _finish(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _align(self, frame: pl.DataFrame):
        names = self.schema.names
        if "_other_values" in names:
            extra = [c for c in frame.columns if c not in names]
            if extra:
                packed = frame.select(pl.struct(extra).struct.json_encode().alias("_other_values"))
                frame = frame.drop(extra).with_columns(packed)
            frame = frame.with_columns([pl.lit(None, pl.String).alias(n) for n in names
                                        if n not in frame.columns]).select(names)
        return frame.to_arrow().cast(self.schema)

    def _close(self) -> None:
        """Drain the writer thread and write the footer (the file stays under its temp name)."""
        self._finish()
        if self._error is not None:
            raise self._error
        if not self._closed:
            self._writer.close()
            self._closed = True

    def drop_rows(self, rows: np.ndarray, columns: list[str]) -> pl.DataFrame:
        """Remove the rows whose ``_source_row`` is in ``rows`` before the commit.

        Why a rewrite: duplicate keys across frames are only known once the whole unit was
        read (see :class:`~tenantlake.landing.transform.KeyTracker`). Duplicates are rare, so
        the common path never pays for this; when they exist the temp file is streamed once
        (64k rows at a time) into a new temp file. Returns ``columns`` of the dropped rows
        (only what the caller needs, to keep memory per duplicate small).
        """
        import pyarrow.parquet as pq

        if self._writer is None or len(rows) == 0:
            return pl.DataFrame()
        self._close()
        tmp = self._tmp
        new = tmp.with_name(f"{lake.TMP_PREFIX}{uuid.uuid4().hex}-{self.target.name}.part")
        wanted = pl.Series(rows)
        dropped: list[pl.DataFrame] = []
        try:
            with pq.ParquetWriter(new, self.schema, compression="snappy",
                                  use_dictionary=_dictionary_columns(self.schema)) as out:
                for batch in pq.ParquetFile(tmp).iter_batches(batch_size=1 << 16):
                    frame = pl.from_arrow(batch)
                    hit = frame.get_column("_source_row").is_in(wanted)
                    if hit.any():
                        dropped.append(frame.filter(hit).select(columns))
                        frame = frame.filter(~hit)
                    if frame.height:
                        out.write_table(frame.to_arrow().cast(self.schema))
            os.replace(new, tmp)
        finally:
            new.unlink(missing_ok=True)
        gone = pl.concat(dropped) if dropped else pl.DataFrame()
        self.rows -= gone.height
        return gone

    def value_hashes(self, rows: np.ndarray) -> np.ndarray:
        """Hash of the canonical values of each row of ``rows`` (in that order), read back from
        the closed temp file; lineage columns (batch, row, time) are not part of a row's value.
        """
        import pyarrow.parquet as pq

        self._close()
        lineage = {"tenant_id", "_batch_id", "_source_file", "_source_row", "_ingested_at"}
        values = [n for n in self.schema.names if n not in lineage]
        wanted = pl.Series(rows)
        parts = []
        for batch in pq.ParquetFile(self._tmp).iter_batches(batch_size=1 << 16):
            frame = pl.from_arrow(batch)
            frame = frame.filter(frame.get_column("_source_row").is_in(wanted))
            if frame.height:
                parts.append(frame.select(pl.col("_source_row"),
                                          pl.struct(values).hash(seed=11).alias("v")))
        found = pl.concat(parts) if parts else pl.DataFrame(
            schema={"_source_row": pl.Int64, "v": pl.UInt64})
        order = pl.DataFrame({"_source_row": rows}).join(found, on="_source_row", how="left",
                                                         maintain_order="left")
        return order.get_column("v").fill_null(0).to_numpy()

    def column_max(self, column: str):
        """Max of ``column`` over the closed temp file (after :meth:`drop_rows`)."""
        import pyarrow.parquet as pq

        if self._writer is None or not self._closed:
            return None
        col = pl.from_arrow(pq.read_table(self._tmp, columns=[column])).get_column(column)
        return col.max()

    def commit(self) -> int:
        """Close, fsync and rename into place; returns the bytes written (0 if no rows)."""
        if self._writer is None:
            return 0
        self._close()
        if self._crash_stage:
            crash_point("before_rename")  # footer written, temp file not renamed
        self._cm.__exit__(None, None, None)
        self._writer = None
        return self.target.stat().st_size

    def abort(self, exc: BaseException | None = None) -> None:
        if self._writer is not None:
            try:
                self._finish()
                if not self._closed:
                    self._writer.close()
            finally:
                err = exc or RuntimeError("aborted")
                self._cm.__exit__(type(err), err, err.__traceback__)
                self._writer = None


class BatchWriter:
    """Everything one (unit, entity) batch writes, plus its counters."""

    def __init__(self, run: RunContext, entity: str, source_name: str, unit: SourceUnit) -> None:
        self.run, self.entity, self.source_name, self.unit = run, entity, source_name, unit
        self.contract = get_contract(entity)
        self.batch_id = batch_id_for(unit.content_hash)
        tid = run.tenant.id
        name = f"{self.batch_id}.parquet"
        home_lake = run.home.lake
        self.name = name
        self.raw = _StreamWriter(lake.lake_path(home_lake, "held", entity, tid,
                                                run.landing_date) / name, arrow_schema(entity),
                                 crash_stage="mid_write")
        self.quarantine = _StreamWriter(lake.lake_path(home_lake, "quarantine", entity, tid,
                                                       run.landing_date) / name)
        self.drift = _StreamWriter(lake.lake_path(home_lake, "held", f"{entity}__drift", tid,
                                                  run.landing_date) / name)
        self.rows_in = self.landed = self.quarantined = self.filtered = 0
        self.dropped_duplicates = 0
        self.keys = KeyTracker()
        self.max_event = None
        self.missing_required: set[str] = set()
        self.missing_optional: set[str] = set()
        self.drift_columns: list[str] = []
        self.sampler = GxSampler(run.gx_sample_rows)
        self._schema = arrow_schema(entity)

    # ------------------------------------------------------------------ per chunk
    def add(self, result: ChunkResult, plan: EntityPlan, drift: list[str]) -> None:
        self.missing_required.update(plan.missing_required)
        self.missing_optional.update(plan.missing_optional)
        for d in drift:
            if d not in self.drift_columns:
                self.drift_columns.append(d)
        self.filtered += result.filtered
        good, bad = result.good, result.bad
        self.rows_in += good.height + bad.height
        if bad.height:
            self._write_bad(bad)
        if good.height:
            self._write_good(good)
            if drift:
                self._write_drift(good)

    def _write_bad(self, bad: pl.DataFrame) -> None:
        self.quarantined += bad.height
        self.quarantine.write(bad.with_columns(
            pl.lit(self.run.tenant.id).alias("tenant_id"),
            pl.lit(self.batch_id).alias("_batch_id"),
            pl.lit(self.unit.label).alias("_source_file")))

    def take_duplicates(self) -> pl.DataFrame:
        """Apply the mapping's ``duplicates`` policy once the whole unit was read.

        Exact copies and the rows the policy rejects are taken out of the raw (and drift) temp
        files; exact copies are only counted (:attr:`dropped_duplicates`), the rejected rows
        are returned (``_source_row``, key columns, ``_dup_rule``) so the caller can
        quarantine their source values. Counts, the GX sample and the newest event date are
        corrected.
        """
        policy = self.run.tenant.sources[self.source_name].entities[self.entity].duplicates
        h, r = self.keys.duplicated()
        self.keys.close()
        if len(r) == 0:
            return pl.DataFrame()
        v = self.raw.value_hashes(r)
        copies, rejected, kept = resolve_duplicates(h, v, r, policy)
        rows = np.union1d(copies, rejected)
        if len(rows) == 0:
            return pl.DataFrame()
        if len(kept):
            self.run.log.info("entity=%s %s: %d key(s) had conflicting rows; kept the %s one "
                              "(duplicates: %s)", self.entity, self.unit.label, len(kept),
                              "latest" if policy == "last" else "earliest", policy)
        ev = self.contract.event_date
        wanted = ["_source_row", *self.contract.key, *([ev] if ev else [])]
        dropped = self.raw.drop_rows(rows, wanted)
        self.drift.drop_rows(rows, ["_source_row"])
        self.landed -= dropped.height
        self.dropped_duplicates += len(copies)
        frame = self.sampler.frame
        if frame is not None:
            self.sampler.frame = frame.filter(~frame.get_column("_source_row").is_in(
                dropped.get_column("_source_row")))
        if ev and self.max_event is not None and ev in dropped.columns and \
                dropped.get_column(ev).max() == self.max_event:
            self.max_event = self.raw.column_max(ev)
        rule = "conflicting_duplicate_key" if policy == "reject_conflicts" else "duplicate_key"
        return dropped.filter(pl.col("_source_row").is_in(pl.Series(rejected))).with_columns(
            pl.lit(rule).alias("_dup_rule"))

    def add_duplicates(self, bad: pl.DataFrame) -> None:
        """Quarantine duplicate rows found after the stream (see :meth:`take_duplicates`)."""
        if bad.height:
            self._write_bad(bad)

    def _write_good(self, good: pl.DataFrame) -> None:
        run = self.run
        cols = []
        for f in self._schema:
            if f.name == "tenant_id":
                cols.append(pl.lit(run.tenant.id).alias(f.name))
            elif f.name == "_batch_id":
                cols.append(pl.lit(self.batch_id).alias(f.name))
            elif f.name == "_source_file":
                cols.append(pl.lit(self.unit.label).alias(f.name))
            elif f.name == "_ingested_at":
                cols.append(pl.lit(run.ingested_at, pl.Datetime("us")).alias(f.name))
            elif f.name in good.columns:
                cols.append(pl.col(f.name))
            else:
                cols.append(pl.lit(None).alias(f.name))
        out = good.select(cols)
        self.raw.write(out)
        self.landed += out.height
        ev = self.contract.event_date
        if ev and ev in good.columns:
            m = good.get_column(ev).max()
            if m is not None and (self.max_event is None or m > self.max_event):
                self.max_event = m
        if run.run_gx:
            self.sampler.add(out)

    def _write_drift(self, good: pl.DataFrame) -> None:
        """New source columns of landed rows, kept beside the batch (never in the raw schema).

        Sidecar dataset ``lake/raw/<entity>__drift/...``: lineage + the drift columns as strings,
        joinable to the raw batch on (_batch_id, _source_row).
        """
        cols = [c for c in good.columns if c.startswith(DRIFT_PREFIX)]
        if not cols:
            return
        self.drift.write(good.select(
            pl.lit(self.run.tenant.id).alias("tenant_id"),
            pl.lit(self.batch_id).alias("_batch_id"),
            pl.lit(self.unit.label).alias("_source_file"), pl.col("_source_row"),
            *[pl.col(c).alias(c.removeprefix(DRIFT_PREFIX)) for c in cols]))

    # ------------------------------------------------------------------ end of unit
    def commit(self) -> int:
        """Rename the files of the read unit into place: good rows into ``held``, quarantine
        into ``quarantine``. Nothing is landed yet: see :meth:`finalize`."""
        return self.raw.commit() + self.quarantine.commit() + self.drift.commit()

    def finalize(self, reasons: list[dict[str, str]]) -> None:
        """After the gate: land the batch (held -> raw) or record it blocked with ``reasons``."""
        blocked = bool(reasons)
        finalize_batch(self.run.home.lake, self.run.tenant.id, self.entity, self.batch_id,
                       self.run.landing_date, land=not blocked)
        superseded = _superseded(self.run, self.entity, self.unit.label, self.batch_id,
                                 only_blocked=blocked)
        for old in superseded:
            remove_batch_files(self.run.home.lake, self.run.tenant.id, self.entity, old)
        crash_point("before_ledger")
        store.ledger_record(store.LedgerEntry(
            tenant_id=self.run.tenant.id, entity=self.entity, source=self.source_name,
            source_label=self.unit.label, content_hash=self.unit.content_hash,
            batch_id=self.batch_id, landing_date=self.run.landing_date,
            rows_in=self.rows_in, rows_landed=self.landed,
            rows_quarantined=self.quarantined, landed_at=self.run.ingested_at,
            status=store.BLOCKED if blocked else store.LANDED,
            reasons=json.dumps(reasons) if blocked else None),
            replaces=superseded, url=self.run.store_url)

    def abort(self, exc: BaseException) -> None:
        self.keys.close()
        for w in (self.raw, self.quarantine, self.drift):
            w.abort(exc)



def _superseded(run: RunContext, entity: str, label: str, batch_id: str, *,
                only_blocked: bool) -> list[str]:
    """Batches of earlier versions of the same file/unit label that ``batch_id`` replaces.

    A landed batch replaces every earlier version; a blocked one replaces only earlier
    *blocked* versions (the last good version stays landed until a good one replaces it).
    """
    entries = store.ledger_for_label(run.tenant.id, entity, label, url=run.store_url)
    return [e.batch_id for e in entries if e.batch_id != batch_id
            and (not only_blocked or e.status == store.BLOCKED)]


def _batch_dirs(lake_root, tenant_id: str, entity: str) -> list[tuple[str, object]]:
    return [(layer, lake.lake_path(lake_root, layer, name, tenant_id))
            for layer in ("raw", "held", "quarantine")
            for name in (entity, f"{entity}__drift") if not (layer == "quarantine"
                                                             and name != entity)]


def remove_batch_files(lake_root, tenant_id: str, entity: str, batch_id: str,
                       layers: tuple[str, ...] = ("raw", "held", "quarantine"),
                       keep_date: str | None = None) -> None:
    """Delete a batch's files in ``layers`` (every date partition but ``keep_date``)."""
    for layer, part in _batch_dirs(lake_root, tenant_id, entity):
        if layer not in layers:
            continue
        for p in part.glob(f"date=*/{batch_id}.parquet"):
            if keep_date is None or p.parent.name != f"date={keep_date}":
                p.unlink(missing_ok=True)


def finalize_batch(lake_root, tenant_id: str, entity: str, batch_id: str, date: str, *,
                   land: bool) -> None:
    """Move a held batch into ``raw`` (``land``) or make sure no copy of it is in ``raw``.

    Copies under other dates (a crash on another day between rename and ledger) are removed
    either way, so a batch exists at most once.
    """
    remove_batch_files(lake_root, tenant_id, entity, batch_id, keep_date=date)
    name = f"{batch_id}.parquet"
    for ds in (entity, f"{entity}__drift"):
        held = lake.lake_path(lake_root, "held", ds, tenant_id, date) / name
        raw = lake.lake_path(lake_root, "raw", ds, tenant_id, date) / name
        if not land:
            raw.unlink(missing_ok=True)
        elif held.exists():
            raw.parent.mkdir(parents=True, exist_ok=True)
            os.replace(held, raw)
            lake._fsync_dir(raw.parent)


def release_batch(tenant: TenantConfig, home, batch_id: str, *, reason: str, actor: str,
                  entity: str | None = None) -> list[store.LedgerEntry]:
    """Let a blocked batch through (every entity it feeds, or ``entity``), audited.

    The ledger row is marked released (with the audit row) first, then the files move from
    ``held`` to ``raw``; a crash in between is repaired by :func:`reconcile_released` at the
    start of the next landing. Returns the ledger rows released.
    """
    if not reason or not reason.strip():
        raise LandingError(f"tenant {tenant.id!r}: releasing batch {batch_id!r} needs a reason "
                           "(--reason TEXT): it is kept in the audit log")
    url = home.store_url
    rows = [e for e in store.ledger_for_batch(tenant.id, batch_id, url=url)
            if e.status == store.BLOCKED and (entity is None or e.entity == entity)]
    if not rows:
        raise LandingError(f"tenant {tenant.id!r}: no blocked batch {batch_id!r}"
                           + (f" of {entity}" if entity else "")
                           + "; `tenantlake land status " + tenant.id + "` lists them")
    for e in rows:
        store.ledger_release(tenant.id, e.entity, batch_id, actor=actor, reason=reason.strip(),
                             url=url)
        _move_released(home, tenant.id, e)
    return rows


def _move_released(home, tenant_id: str, e: store.LedgerEntry) -> None:
    finalize_batch(home.lake, tenant_id, e.entity, e.batch_id, e.landing_date, land=True)
    for old in store.ledger_for_label(tenant_id, e.entity, e.source_label, url=home.store_url):
        if old.batch_id != e.batch_id and old.status != store.BLOCKED:
            remove_batch_files(home.lake, tenant_id, e.entity, old.batch_id)
            store.ledger_delete(tenant_id, e.entity, old.batch_id, url=home.store_url)


def reconcile_released(home, tenant_id: str) -> None:
    """Finish releases a crash interrupted (ledger says released, file still in held)."""
    for e in store.ledger_released(tenant_id, url=home.store_url):
        held = lake.lake_path(home.lake, "held", e.entity, tenant_id, e.landing_date) / \
            f"{e.batch_id}.parquet"
        if held.exists():
            _move_released(home, tenant_id, e)


#: Where :func:`crash_point` kills the process (tests of crash safety): ``stage`` or
#: ``stage:n`` (the n-th time that point is reached) in ``$TENANTLAKE_CRASH_AT``.
CRASH_ENV = "TENANTLAKE_CRASH_AT"
_crash_hits: dict[str, int] = {}


def crash_point(stage: str) -> None:
    """SIGKILL this process at a named stage when ``$TENANTLAKE_CRASH_AT`` asks for it.

    Why a hook rather than a timer: a kill after a random sleep mostly lands in interpreter
    start-up; a named point makes every crash test hit exactly the stage it means to.
    Stages: ``mid_read`` (after a frame was read), ``mid_write`` (after a row group of a raw
    file was written, before its footer), ``before_rename`` (a raw file complete under its
    temp name), ``before_ledger`` (a batch moved into place, its ledger row not written).
    """
    want = os.environ.get(CRASH_ENV)
    if not want:
        return
    name, _, nth = want.partition(":")
    if name != stage:
        return
    _crash_hits[stage] = _crash_hits.get(stage, 0) + 1
    if _crash_hits[stage] >= int(nth or 1):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- the run


@dataclass
class _EntityRun:
    """What one entity accumulates over the units of one run (feeds the gate)."""

    new_batches: list[dict] = field(default_factory=list)
    unit_errors: list[str] = field(default_factory=list)
    missing_required: dict[str, list[str]] = field(default_factory=dict)
    writers: list["BatchWriter"] = field(default_factory=list)
    max_event: object = None
    gx_batches: list[tuple[str, GxSampler]] = field(default_factory=list)


def land_tenant(tenant: TenantConfig, home, entities: list[str] | None = None, *,
                run_gx: bool = True, gx_sample_rows: int = 10_000) -> LandingReport:
    """Land every source unit of ``tenant`` (optionally only ``entities``) into the lake.

    Raises :class:`LandingConfigError` for a mapping that cannot be applied and
    :class:`DropFolderMissingError` when a file source's drop folder does not exist; every
    per-file problem is reported (``report.errors`` + a failed blocking check) instead.
    """
    install_redaction()
    register_tenant_secrets(tenant)
    log = TenantLog(_log, {"tenant_id": tenant.id})
    validate_mappings(tenant)
    wanted = list(entities) if entities else list(tenant.entities)
    for e in wanted:
        get_contract(e)
    report = LandingReport(tenant.id)
    for e in wanted:
        report.entities[e] = EntityReport(e, sent=e in tenant.entities)
    sources = {n: s for n, s in tenant.sources.items() if set(s.entities) & set(wanted)}
    for name, source in sources.items():
        if source.kind == "file":
            check_drop_folder(name, source, tenant, home)
    removed = lake.clean_orphans(home.lake)
    if removed:
        log.info("removed %d orphaned temp file(s) of killed writers", removed)
    reconcile_released(home, tenant.id)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run = RunContext(tenant=tenant, home=home, landing_date=now.date().isoformat(),
                     ingested_at=now, store_url=home.store_url, log=log,
                     gx_sample_rows=gx_sample_rows, run_gx=run_gx)
    for e in wanted:
        run.history[e] = store.recent_median_rows(tenant.id, e, url=run.store_url)
    runs = {e: _EntityRun() for e in wanted}
    for name, source in sources.items():
        ents = [e for e in source.entities if e in wanted]
        if not ents:  # a source only other sources' lookups read
            continue
        _land_source(run, name, source, ents, report, runs)
    for e in wanted:
        rep, er = report.entities[e], runs[e]
        gx = run_gx_check(tenant, e, er.gx_batches) if (run_gx and er.gx_batches) else None
        # earlier blocked batches, except those a new version of the same file replaces now
        new_labels = {w.unit.label for w in er.writers}
        before = [{"batch_id": b.batch_id, "label": b.source_label,
                   "reasons": json.loads(b.reasons or "[]")}
                  for b in store.ledger_blocked(tenant.id, e, url=run.store_url)
                  if b.source_label not in new_labels]
        rep.gate = evaluate_gate(tenant, rep, new_batches=er.new_batches,
                                 history_median=run.history[e], max_event=er.max_event,
                                 unit_errors=er.unit_errors, blocked_before=before,
                                 missing_required=er.missing_required, gx=gx, now=now)
        for w in er.writers:
            reasons = rep.gate.blocked.get(w.batch_id, [])
            w.finalize(reasons)
            if reasons:
                rep.rows_landed -= w.landed
                rep.rows_held += w.landed
                run.log.warning("entity=%s %s blocked as batch %s: %s", e, w.unit.label,
                                w.batch_id, "; ".join(r["check"] for r in reasons))
        rep.blocked_batches = [b.batch_id for b in store.ledger_blocked(
            tenant.id, e, url=run.store_url)]
        level = logging.INFO if rep.gate.passed else logging.WARNING
        log.log(level, "entity=%s rows_in=%d landed=%d quarantined=%d skipped_units=%d gate=%s%s",
                e, rep.rows_in, rep.rows_landed, rep.rows_quarantined, rep.units_skipped,
                "passed" if rep.gate.passed else "FAILED",
                "" if rep.gate.passed else " (" + "; ".join(
                    c.name for c in rep.gate.failed if c.blocking) + ")")
    for unit in run.staged_units:
        unit.on_landed()
    return report


def _land_source(run: RunContext, source_name: str, source: Source, entities: list[str],
                 report: LandingReport, runs: dict[str, _EntityRun]) -> None:
    """Land every unit of one source; a failure of the source itself stops only this source.

    Why: an API outage or a database error raised while *pulling* units (not while reading one
    unit, which :func:`_land_unit` handles) kills the source's unit iterator. The units landed
    before it stay landed (their cursors saved), the failure is reported on every entity the
    source feeds (failing their blocking ``readable_units`` check), and the tenant's other
    sources still land. Configuration errors are the operator's to fix and still raise.
    """
    try:
        for unit in iter_units(source_name, source, run.tenant, run.home):
            _land_unit(run, source_name, source, unit, entities, report, runs)
    except (LandingConfigError, DropFolderMissingError):
        raise
    except Exception as exc:  # noqa: BLE001 - one source's outage must not stop the tenant
        msg = _source_error_message(run.tenant.id, source_name, source, exc)
        run.log.error("%s", msg)
        report.errors.append(msg)
        for e in entities:
            report.entities[e].errors.append(msg)
            runs[e].unit_errors.append(msg)


def _source_where(source: Source) -> str:
    """Where a source reads from, for error messages (never a secret: no query, no password).

    API URLs are shown without query string or user info; SQL sources name the table and the
    env var holding the URL (the URL itself may carry a password).
    """
    if source.kind == "api" and source.url:
        from urllib.parse import urlsplit

        u = urlsplit(source.url)
        return f"url {u.scheme}://{u.hostname or ''}{f':{u.port}' if u.port else ''}{u.path}"
    if source.kind == "sql":
        return f"table {source.query_table} (database in ${source.url_env})"
    return f"path {source.path}"


def _source_error_message(tenant_id: str, source_name: str, source: Source,
                          exc: BaseException) -> str:
    """A message naming tenant, source, URL/table and the cause of a failed pull."""
    detail = str(exc).strip() if isinstance(exc, LandingError) else \
        f"{type(exc).__name__}: {str(exc).strip()}"
    detail = detail.removeprefix(f"tenant {tenant_id!r}, source {source_name!r}: ")
    return redact(f"tenant {tenant_id!r}, source {source_name!r} ({_source_where(source)}): "
                  f"pulling units failed, the source's remaining units were not landed: "
                  f"{detail}")


def _land_unit(run: RunContext, source_name: str, source: Source, unit: SourceUnit,
               entities: list[str], report: LandingReport, runs: dict[str, _EntityRun]) -> None:
    """Land one unit into every entity it feeds that has not landed it yet.

    A unit every entity already has in the ledger still gets ``on_landed``: a crash between the
    ledger write and ``on_landed`` would otherwise leave its API/SQL cursor behind for good
    (cursors only move over a prefix of landed units, and this unit would never count).
    """
    tenant, log = run.tenant, run.log
    pending: list[str] = []
    for e in entities:
        rep = report.entities[e]
        rep.units_seen += 1
        if store.ledger_get(tenant.id, e, unit.content_hash, url=run.store_url):
            rep.units_skipped += 1
            log.info("entity=%s %s already landed (same content): skipped", e, unit.label)
        else:
            pending.append(e)
    if not pending:
        unit.on_landed()
        return
    started = time.perf_counter()
    writers = {e: BatchWriter(run, e, source_name, unit) for e in pending}
    plans: dict[tuple, tuple[EntityPlan, list[str]]] = {}
    try:
        for first_row, frame in _prefetch(unit.frames()):
            crash_point("mid_read")
            schema = {n: t for n, t in frame.schema.items() if n not in RESERVED}
            key = tuple(schema.items())
            for e in pending:
                if (e, key) not in plans:
                    plans[(e, key)] = _plan(run, source_name, source, unit, e, schema)
                plan, drift = plans[(e, key)]
                writers[e].add(plan.process(frame, first_row, drift, writers[e].keys,
                                            check_nul=unit.may_hold_nul is not False),
                               plan, drift)
        _quarantine_duplicates(run, source_name, source, unit, writers, plans)
        for e in pending:
            w = writers[e]
            rep = report.entities[e]
            written = w.commit()
            _account(rep, runs[e], w, written, unit)
            if source.currency and source.currency not in rep.currencies:
                rep.currencies.append(source.currency)
    except LandingConfigError:
        for w in writers.values():
            w.abort(RuntimeError("config error"))
        raise
    except Exception as exc:  # noqa: BLE001 - one bad unit must not stop the tenant
        for w in writers.values():
            w.abort(exc)
        msg = redact(str(exc) if isinstance(exc, LandingError) else
                     f"tenant {tenant.id!r}: {unit.label}: {type(exc).__name__}: {exc}")
        log.error("%s", msg)
        report.errors.append(msg)
        for e in pending:
            report.entities[e].errors.append(msg)
            runs[e].unit_errors.append(msg)
        return
    elapsed = time.perf_counter() - started
    for e in pending:
        report.entities[e].seconds += elapsed / len(pending)
    run.staged_units.append(unit)


def _quarantine_duplicates(run: RunContext, source_name: str, source: Source, unit: SourceUnit,
                           writers: dict[str, BatchWriter], plans: dict) -> None:
    """Move rows whose key an earlier frame of the unit had from raw to quarantine.

    Why a second read: the duplicates across frames are only known after the stream, and the
    quarantine keeps the *source* values of a row, which the raw file no longer has. Only a unit
    with such duplicates is read again (once, for all its entities); rows are matched on the
    same ``_source_row`` numbering as the first pass.
    """
    dropped = {e: w.take_duplicates() for e, w in writers.items()}
    dropped = {e: d for e, d in dropped.items() if d.height}
    if not dropped:
        return
    run.log.info("%s: %s row(s) whose key other rows of the batch have go to quarantine",
                 unit.label, ", ".join(f"{e}={d.height}" for e, d in dropped.items()))
    found = dict.fromkeys(dropped, 0)
    for first_row, frame in unit.frames():
        schema = {n: t for n, t in frame.schema.items() if n not in RESERVED}
        key = tuple(schema.items())
        for e, rows in dropped.items():
            if (e, key) not in plans:
                plans[(e, key)] = _plan(run, source_name, source, unit, e, schema)
            bad = plans[(e, key)][0].duplicate_rows(frame, first_row, rows)
            writers[e].add_duplicates(bad)
            found[e] += bad.height
    if any(found[e] != d.height for e, d in dropped.items()):
        raise LandingError(f"tenant {run.tenant.id!r}: {unit.label} changed while it was being "
                           "landed (rows moved between reads); nothing from it was landed, "
                           "the next run lands it again")


def _prefetch(frames: Iterable, depth: int = 1) -> Iterable:
    """Read the next frame in a background thread while the current one is processed.

    Parsing (pyarrow) and transforming/writing (polars, Parquet) both release the GIL, so on
    two cores this overlap is most of the landing throughput. Memory: ``depth`` extra frames.
    Exceptions of the reader are re-raised in the caller, in order.
    """
    import queue

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        q.put(("ok", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", done))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(("err", exc))

    t = threading.Thread(target=pump, name="landing-reader", daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "done":
                return
            if kind == "err":
                raise item
            yield item
    finally:
        stop.set()
        t.join(timeout=5)


def _plan(run: RunContext, source_name: str, source: Source, unit: SourceUnit, entity: str,
          schema: dict) -> tuple[EntityPlan, list[str]]:
    """An entity plan for one source schema, plus the schema's drift columns.

    Drift = source columns no mapping of this source reads (for any entity): they are new to
    the tenant's mapping, so they are reported and kept, never a reason to fail.
    """
    lookups = _lookup_frames(run, source)
    plan = EntityPlan(run.tenant, source_name, source, entity, source.entities[entity], schema,
                      unit.label, now=run.ingested_at, lookup_frames=lookups)
    used: set[str] = set()
    for other, mapping in source.entities.items():
        p = plan if other == entity else EntityPlan(run.tenant, source_name, source, other,
                                                    mapping, schema, unit.label,
                                                    now=run.ingested_at, lookup_frames=lookups)
        used |= p.used_columns
    drift = [c for c in schema if c not in used]
    return plan, drift


def _lookup_frames(run: RunContext, source: Source) -> dict:
    """The lookup tables ``source``'s mappings join, read once per landing run."""
    from tenantlake.landing.lookups import read_lookup_sources

    cache = run.__dict__.setdefault("_lookup_cache", {})
    names = sorted({lk.source for m in source.entities.values() for lk in m.lookups.values()})
    missing = [n for n in names if n not in cache]
    if missing:
        cache.update(read_lookup_sources(run.tenant, run.home, missing))
    return {n: cache[n] for n in names}


def _account(rep: EntityReport, er: _EntityRun, w: BatchWriter, written: int,
             unit: SourceUnit) -> None:
    rep.rows_in += w.rows_in
    rep.rows_landed += w.landed
    rep.rows_quarantined += w.quarantined
    rep.rows_filtered += w.filtered
    rep.bytes_written += written
    rep.batch_ids.append(w.batch_id)
    for c in w.drift_columns:
        if c not in rep.drift_columns:
            rep.drift_columns.append(c)
    for c in sorted(w.missing_optional):
        if c not in rep.missing_optional_columns:
            rep.missing_optional_columns.append(c)
    if w.missing_required:
        er.missing_required[unit.label] = sorted(w.missing_required)
    er.new_batches.append({"label": unit.label, "rows_in": w.rows_in, "batch_id": w.batch_id,
                           "rows_quarantined": w.quarantined, "rows_landed": w.landed,
                           "missing_required": sorted(w.missing_required)})
    er.writers.append(w)
    rep.rows_duplicate_dropped += w.dropped_duplicates
    if w.max_event is not None and (er.max_event is None or w.max_event > er.max_event):
        er.max_event = w.max_event
    if w.sampler.frame is not None:
        er.gx_batches.append((w.batch_id, w.sampler))
