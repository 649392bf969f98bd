"""The one interface between "where rows come from" and "how rows are landed".

A source (file drop, REST API, SQL database) yields :class:`SourceUnit` objects. A unit is what
the landing ledger records once: one file, or one incremental pull from an API or a database.
Landing reads a unit's frames, maps and validates them, writes the batch atomically, records the
unit's ``content_hash`` in the ledger, and only then calls ``on_landed`` (where API/SQL sources
advance their cursor), so a crash before the ledger write re-lands the unit and a crash after it
is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import polars as pl


@dataclass
class SourceUnit:
    #: Human-readable origin shown in errors and stored in ``_source_file``:
    #: a file path, ``GET https://.../orders?page=3``, ``sql:erp.public.orders``.
    label: str
    #: Identity of the content for the ledger (sha256 of the file bytes, or of the pulled rows).
    content_hash: str
    #: Yields (first_row_number, frame). Row numbers are 1-based data rows of the unit, so an error
    #: can say "orders.csv row 1042". Frames carry the source's own column names; values may be
    #: strings (CSV) or typed (Parquet, JSON, SQL) — coercion happens in landing. May be called
    #: twice: landing re-reads a unit whose key duplicates span frames, to quarantine them.
    frames: Callable[[], Iterator[tuple[int, pl.DataFrame]]]
    #: Called after the batch and its ledger row are committed (advance API/SQL cursors here).
    on_landed: Callable[[], None] = field(default=lambda: None)
    size_bytes: int = 0
    #: False when the unit's bytes are known to hold no NUL byte (a plain-text file scanned
    #: while hashing): landing then skips the per-value NUL check. None: unknown, check.
    may_hold_nul: bool | None = None
