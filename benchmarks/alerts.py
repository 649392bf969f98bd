"""Benchmark: alerts delivered per second (signed webhooks + outbox + audit chain) vs bare HTTP
posts of the same payloads, on SQLite and on PostgreSQL.

A receiver runs in its own process on 127.0.0.1 (a threading HTTP server that verifies every
Standard Webhooks signature with the independent ``standardwebhooks`` package and answers 200).
Then, for each store:

* ``build``: ``--alerts`` predictions -> the rule builder -> outbox rows (with audit entries);
* ``deliver``: one delivery pass: claim (``sending`` + audit), sign, POST, record
  (``delivered`` + audit), in batches of ``--batch``;
* ``baseline``: the same payloads POSTed with the same HTTP client, unsigned, no outbox.

Prints alerts/s of each and the ratio deliver/baseline (both against the same receiver, in the
same run). PostgreSQL is the project's test server (``scripts/postgres.sh``), in a database
created and dropped here.

Example::

    .venv/bin/python benchmarks/alerts.py --alerts 2000
    .venv/bin/python benchmarks/alerts.py --alerts 500 --no-postgres
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "whsec_" + base64.b64encode(b"tenantlake-benchmark-secret-0001").decode()
NOW = dt.datetime(2026, 11, 24, 6, 0, 0)

RECEIVER = r"""
import socket, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from standardwebhooks.webhooks import Webhook
hook = Webhook(sys.argv[1])
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy
    def setup(self):
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    def log_message(self, *a):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status = 200
        if "webhook-signature" in headers:
            try:
                hook.verify(body, headers)
            except Exception:
                status = 401
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def _tenant(n: int):
    from tenantlake.tenants import TenantConfig

    return TenantConfig.model_validate({
        "id": "bench", "display_name": "Bench", "industry": "distribution",
        "partner": {"id": "p", "name": "P"}, "reporting_currency": "EUR",
        "alerts": {"channels": {"hook": {"type": "webhook", "url_env": "BENCH_HOOK_URL",
                                         "secret_env": "BENCH_HOOK_SECRET"}},
                   "rules": [{"name": "stockout_risk", "model": "stockout",
                              "min_probability": 0.0, "channel": "hook",
                              "requires_approval": False, "max_per_day": n,
                              "cooldown_days": 0}]}})


def _predictions(home, n: int) -> None:
    import pandas as pd

    from tenantlake.lake import atomic_write, lake_path

    df = pd.DataFrame({"tenant_id": "bench", "sku": [f"SKU-{i:06d}" for i in range(n)],
                       "location_id": "L1", "as_of": dt.date(2026, 11, 23),
                       "probability": [0.5 + (i % 500) / 1000 for i in range(n)],
                       "risk_band": "high", "horizon_days": 14, "model_name": "stockout",
                       "model_version": "7", "reason_1": "on hand below 5 days of demand",
                       "reason_2": "supplier lead time 12 days", "reason_3": "open backorders"})
    target = lake_path(home.lake, "predictions", "stockout", "bench", "2026-11-23")
    with atomic_write(target / "part.parquet") as tmp:
        df.to_parquet(tmp, index=False)


def run_store(label: str, url: str, n: int, batch: int, hook_url: str) -> dict:
    import httpx

    from tenantlake.alerts import outbox, rules
    from tenantlake.alerts.audit import verify
    from tenantlake.alerts.delivery import deliver
    from tenantlake.settings import Home

    home = Home(Path(tempfile.mkdtemp(prefix="tl-bench-alerts-"))).ensure()
    tenant = _tenant(n)
    _predictions(home, n)
    env = {"BENCH_HOOK_URL": hook_url, "BENCH_HOOK_SECRET": SECRET,
           "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
    t0 = time.perf_counter()
    _, enq = rules.build(home, tenant, now=NOW, url=url)
    t_build = time.perf_counter() - t0
    assert len(enq.created) == n, (len(enq.created), n)
    with httpx.Client(trust_env=False) as client:
        t0 = time.perf_counter()
        stats = deliver(home, {"bench": tenant}, now=NOW, url=url, env=env, batch_size=batch,
                        client=client)
        t_deliver = time.perf_counter() - t0
        assert stats.delivered == n, stats.summary()
        bodies = [json.dumps(a.payload).encode() for a in outbox.list_alerts("bench", url=url)]
        t0 = time.perf_counter()
        for b in bodies:
            r = client.post(hook_url, content=b, headers={"content-type": "application/json"})
            r.raise_for_status()
        t_base = time.perf_counter() - t0
    assert all(v.ok for v in verify("bench", url=url))
    return {"store": label, "alerts": n, "build_per_s": n / t_build,
            "deliver_per_s": n / t_deliver, "baseline_per_s": n / t_base,
            "ratio": (n / t_deliver) / (n / t_base)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alerts", type=int, default=2000, help="Alerts per store.")
    ap.add_argument("--batch", type=int, default=100, help="Delivery batch size.")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only.")
    args = ap.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import logging

    logging.basicConfig(level=logging.WARNING)
    recv = subprocess.Popen([sys.executable, "-c", RECEIVER, SECRET], stdout=subprocess.PIPE,
                            text=True)
    try:
        port = int(recv.stdout.readline())
        hook_url = f"http://127.0.0.1:{port}/hook"
        results = []
        tmp = Path(tempfile.mkdtemp(prefix="tl-bench-sqlite-"))
        results.append(run_store("sqlite", f"sqlite:///{tmp / 'ops.db'}", args.alerts,
                                 args.batch, hook_url))
        if not args.no_postgres:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            out = subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "start"],
                                 capture_output=True, text=True, check=True)
            server = out.stdout.strip().splitlines()[-1]
            name = f"tl_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))  # generated name, [a-z0-9_]
            try:
                url = make_url(server).set(database=name).render_as_string(hide_password=False)
                results.append(run_store("postgresql", url, args.alerts, args.batch, hook_url))
            finally:
                from tenantlake.store import dispose_all

                dispose_all()
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    finally:
        recv.terminate()
        recv.wait(timeout=10)
    print(f"{'store':<11} {'alerts':>7} {'build/s':>9} {'deliver/s':>10} {'bare POST/s':>12} "
          f"{'ratio':>6}")
    for r in results:
        print(f"{r['store']:<11} {r['alerts']:>7} {r['build_per_s']:>9.0f} "
              f"{r['deliver_per_s']:>10.0f} {r['baseline_per_s']:>12.0f} {r['ratio']:>6.2f}")
    print("deliver/s: signed webhook + outbox claim/record + audit chain per alert; "
          "bare POST/s: same payloads, unsigned, no outbox (same client, same receiver).")


if __name__ == "__main__":
    main()
