"""SIGKILL of the delivery process mid-batch: every alert is delivered in the end, none lost,
and the only duplicates are re-sends of the same idempotency key (same webhook-id)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys

from conftest import NOW, make_tenant, stockout_rows, write_predictions
from receivers import SECRET_A, Receiver, Script

from tenantlake.alerts import outbox, rules
from tenantlake.alerts.audit import verify

CHILD = r"""
import datetime as dt, json, os, sys
from pathlib import Path
from tenantlake.alerts.delivery import deliver
from tenantlake.settings import Home
from tenantlake.tenants import TenantConfig
tenant = TenantConfig.model_validate(json.loads(os.environ["TL_TENANT"]))
stats = deliver(Home(Path(os.environ["TENANTLAKE_HOME"])), {tenant.id: tenant},
                now=dt.datetime.fromisoformat(sys.argv[1]), batch_size=5, lease_seconds=120)
print(json.dumps(stats.summary()))
"""


def _run(env, now: dt.datetime) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, now.isoformat()], env=env,
                          capture_output=True, text=True, timeout=120)


def test_sigkill_mid_batch_then_all_delivered(tl_home, store_url):
    tenant = make_tenant()
    write_predictions(tl_home, tenant.id, "stockout", stockout_rows(40))
    res, enq = rules.build(tl_home, tenant, now=NOW)
    ids = {c.alert_id for c in res.candidates}
    assert len(ids) >= 12
    child_pid: list[int] = []

    def kill_on(k: int) -> None:
        if k == 7 and child_pid:  # the 2nd batch (requests 6-10) is half sent
            os.kill(child_pid[0], signal.SIGKILL)

    r = Receiver(script=Script(on_request=kill_on)).start()
    env = {**os.environ, "TENANTLAKE_HOME": str(tl_home.root), "TENANTLAKE_STORE_URL": store_url,
           "T_HOOK_URL": r.url, "T_HOOK_SECRET": SECRET_A,
           "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1",
           "TL_TENANT": json.dumps(tenant.model_dump(mode="json"))}
    try:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, NOW.isoformat()], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        child_pid.append(proc.pid)
        proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL
        counts = outbox.state_counts("acme")
        assert counts.get(outbox.SENDING, 0) == 5  # the killed batch: claimed, not recorded
        assert counts.get(outbox.DELIVERED, 0) == 5
        # a restart before the lease expires leaves the in-flight batch alone...
        out = _run(env, NOW + dt.timedelta(seconds=10))
        assert out.returncode == 0, out.stderr
        assert outbox.state_counts("acme").get(outbox.SENDING, 0) == 5
        # ...and after it expires re-sends it under the same ids
        out = _run(env, NOW + dt.timedelta(seconds=200))
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout.strip().splitlines()[-1])["reclaimed"] == 5
    finally:
        r.stop()
    assert outbox.state_counts("acme") == {outbox.DELIVERED: len(ids)}
    got = r.ids()
    assert set(got) == ids  # none lost
    dupes = {i for i, n in got.items() if n > 1}
    assert max(got.values()) <= 2 and len(dupes) <= 5  # only the interrupted batch, same ids
    for rec in r.accepted:  # the same id always carries the same message
        assert rec["headers"]["webhook-id"] == f"msg_{rec['id']}"
    assert all(v.ok for v in verify(url=store_url))
