"""Fixtures for alert tests: a tenant with channels, predictions on disk, real receivers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from receivers import SECRET_A, Receiver, SmtpSink

from tenantlake.lake import atomic_write, lake_path
from tenantlake.settings import Home
from tenantlake.tenants import TenantConfig

NOW = dt.datetime(2026, 11, 24, 6, 0, 0)


@pytest.fixture
def store_url(tl_home: Home, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tl_home.root / 'ops.db'}"
    monkeypatch.setenv("TENANTLAKE_STORE_URL", url)
    return url


@pytest.fixture
def allow_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTLAKE_ALERTS_ALLOW_PRIVATE", "127.0.0.1")


def make_tenant(tenant_id: str = "acme", *, rules: list[dict] | None = None,
                channels: dict | None = None, approval: dict | None = None,
                quality: dict | None = None) -> TenantConfig:
    return TenantConfig.model_validate({
        "id": tenant_id, "display_name": tenant_id.title(),
        "partner": {"id": "p1", "name": "Partner One"}, "industry": "distribution",
        "reporting_currency": "EUR",
        "quality": quality or {},
        "alerts": {
            "channels": channels or {
                "hook": {"type": "webhook", "url_env": "T_HOOK_URL", "secret_env": "T_HOOK_SECRET"},
                "drop": {"type": "file", "path": "erp", "format": "csv"},
            },
            "rules": rules if rules is not None else [
                {"name": "stockout_risk", "model": "stockout", "min_probability": 0.5,
                 "channel": "hook", "requires_approval": False},
            ],
        },
        "approval_policy": approval or {"default": "required"},
    })


def write_predictions(home: Home, tenant_id: str, model: str, rows: list[dict],
                      date: str = "2026-11-23", version: str = "3") -> Path:
    """A predictions file shaped like the scorer's: tenant_id, unit keys, as_of, probability,
    risk_band, horizon_days, model_name, model_version, reason_1..3."""
    df = pd.DataFrame(rows)
    df.insert(0, "tenant_id", tenant_id)
    df["as_of"] = dt.date.fromisoformat(date)
    df["risk_band"] = ["high" if p >= 0.6 else "medium" if p >= 0.3 else "low"
                       for p in df["probability"]]
    df["horizon_days"] = 14
    df["model_name"] = model
    df["model_version"] = version
    for i in (1, 2, 3):
        df[f"reason_{i}"] = [f"reason {i} for {r.get('sku', r.get('customer_id'))}"
                             for r in rows]
    target = lake_path(home.lake, "predictions", model, tenant_id, date) / "part.parquet"
    with atomic_write(target) as tmp:
        df.to_parquet(tmp, index=False)
    return target


def stockout_rows(n: int, seed: int = 1) -> list[dict]:
    import random

    rnd = random.Random(seed)
    return [{"sku": f"SKU-{i:04d}", "location_id": f"L{i % 3}",
             "probability": round(rnd.uniform(0.0, 1.0), 4)} for i in range(n)]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def smtp_sink():
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def hook_env(receiver: Receiver) -> dict[str, str]:
    return {"T_HOOK_URL": receiver.url, "T_HOOK_SECRET": SECRET_A,
            "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
