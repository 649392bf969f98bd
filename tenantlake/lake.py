"""Lake layout and the write protocol.

Layout (DESIGN.md)::

    lake/raw/<entity>/tenant=<id>/date=<yyyy-mm-dd>/<batch>.parquet
    lake/held/<entity>/tenant=<id>/date=<yyyy-mm-dd>/<batch>.parquet   (gate failed: blocked)
    lake/quarantine/<entity>/tenant=<id>/date=<yyyy-mm-dd>/<batch>.parquet
    lake/predictions/<model>/tenant=<id>/date=<yyyy-mm-dd>/part.parquet
    lake/serving/<mart>/tenant=<id>/part.parquet

Every path is built by :func:`lake_path`, which validates the tenant id and checks that the
resolved path stays inside the lake root. Writers go through :func:`atomic_write` /
:class:`AtomicParquetWriter`: write to a dot-prefixed temp name in the target folder, fsync, then
``os.replace`` into place — so a reader (DuckDB globbing ``*.parquet``) never sees a file without
a footer, and a killed writer leaves only a ``.tmp-*`` file that :func:`clean_orphans` removes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from tenantlake.tenants import validate_tenant_id

#: ``held`` keeps the batches whose quality gate failed: never read downstream (dbt reads
#: ``raw`` only) until a corrected file replaces them or an operator releases them.
LAYERS = ("raw", "held", "quarantine", "predictions", "serving", "exports")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,62}$")
TMP_PREFIX = ".tmp-"


class LakePathError(ValueError):
    pass


def _check_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise LakePathError(f"invalid {kind} name {value!r}: use lower-case letters, digits, '_'")
    return value


def lake_path(root: Path, layer: str, name: str, tenant_id: str,
              date: dt.date | str | None = None) -> Path:
    """The folder of one tenant's partition of ``layer/name`` (optionally one date in it).

    Raises before returning anything that could leave the lake root or name another tenant.
    """
    if layer not in LAYERS:
        raise LakePathError(f"unknown lake layer {layer!r}; one of {', '.join(LAYERS)}")
    _check_name("dataset", name)
    validate_tenant_id(tenant_id)
    root = Path(root).resolve()
    p = root / layer / name / f"tenant={tenant_id}"
    if date is not None:
        d = date if isinstance(date, str) else date.isoformat()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
            raise LakePathError(f"invalid partition date {d!r}; expected YYYY-MM-DD")
        dt.date.fromisoformat(d)
        p = p / f"date={d}"
    resolved = p.resolve()
    if root not in resolved.parents:
        raise LakePathError(f"path {resolved} escapes the lake root {root}")
    return resolved


def dataset_glob(root: Path, layer: str, name: str, tenant_id: str | None = None) -> str:
    """Glob over every Parquet file of a dataset (all tenants, or one)."""
    if tenant_id is None:
        return str(Path(root).resolve() / layer / _check_name("dataset", name) / "**" / "*.parquet")
    return str(lake_path(root, layer, name, tenant_id) / "**" / "*.parquet")


def new_batch_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:10]


def _fsync_dir(d: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success fsync and rename it into place.

    On any exception the temp file is removed and ``target`` is untouched. A SIGKILL leaves a
    ``.tmp-*`` file which readers ignore (DuckDB's ``*.parquet`` glob never matches it because the
    temp name ends in ``.part``) and :func:`clean_orphans` deletes on the next start.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}-{target.name}.part"
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def replace_partition(partition_dir: Path, staged_dir: Path) -> None:
    """Swap a fully written staging folder in for ``partition_dir``.

    Used when a whole tenant/date partition is rewritten (re-running a partition replaces it).
    The old folder is moved aside first, the new one renamed in, then the old one deleted; a
    crash in between leaves either the old or the new complete folder plus a ``.tmp-`` leftover.
    """
    partition_dir = Path(partition_dir)
    old = partition_dir.parent / f"{TMP_PREFIX}old-{uuid.uuid4().hex}"
    if partition_dir.exists():
        os.replace(partition_dir, old)
    os.replace(staged_dir, partition_dir)
    _fsync_dir(partition_dir.parent)
    shutil.rmtree(old, ignore_errors=True)


def staging_dir(partition_dir: Path) -> Path:
    d = Path(partition_dir).parent / f"{TMP_PREFIX}stage-{uuid.uuid4().hex}"
    d.mkdir(parents=True)
    return d


def clean_orphans(root: Path) -> int:
    """Delete temp files and folders left by killed writers. Returns how many were removed."""
    root = Path(root)
    if not root.exists():
        return 0
    n = 0
    for p in sorted(root.rglob(f"{TMP_PREFIX}*"), key=lambda q: len(q.parts), reverse=True):
        if not p.exists():
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        n += 1
    return n
