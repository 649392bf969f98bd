"""Great Expectations 1.x suites per canonical entity, derived from the data contracts.

The contract (:func:`tenantlake.contracts.gx_expectations`) is the one source; a tenant adds its
own expectations under ``quality.extra_expectations`` in its YAML. Suites run on a pandas frame
of one landed batch inside an *ephemeral* GX context (nothing is written to disk, nothing is
sent anywhere), so landing can call them without any GX project on the machine.

Example::

    from expectations import build_suite, run_suite
    result = run_suite("orders", df, extra=[{"type": "expect_column_values_to_not_be_null",
                                              "kwargs": {"column": "channel"}}])
    result.success, result.failed
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from tenantlake.contracts import get_contract, gx_expectations
from tenantlake.settings import TELEMETRY_OFF

__all__ = ["SuiteResult", "build_suite", "expectation_configs", "run_suite"]

_lock = threading.RLock()
_context: Any = None


class ExpectationConfigError(ValueError):
    """An expectation entry (contract or tenant YAML) that GX does not know or cannot build."""


@dataclass
class SuiteResult:
    entity: str
    success: bool
    evaluated: int
    rows: int
    #: One entry per failed expectation: type, kwargs, unexpected_count, partial unexpected values.
    failed: list[dict[str, Any]] = field(default_factory=list)


def expectation_configs(entity: str, extra: list[dict] | None = None) -> list[dict]:
    """The contract's expectations plus the tenant's extra ones (plain dicts)."""
    get_contract(entity)
    return [*gx_expectations(entity), *(extra or [])]


def _class_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def build_suite(entity: str, extra: list[dict] | None = None, name: str | None = None):
    """A ``gx.ExpectationSuite`` for ``entity`` (contract + ``extra``).

    Raises :class:`ExpectationConfigError` naming the entry that GX cannot build.
    """
    import great_expectations as gx

    _get_context()  # GX needs an active context to build a suite
    suite = gx.ExpectationSuite(name=name or f"tenantlake.{entity}")
    for i, cfg in enumerate(expectation_configs(entity, extra)):
        etype = cfg.get("type") if isinstance(cfg, dict) else None
        cls = getattr(gx.expectations, _class_name(etype), None) if isinstance(etype, str) \
            else None
        if cls is None:
            raise ExpectationConfigError(
                f"{entity} expectation #{i + 1}: unknown type {etype!r} (use the snake_case "
                "name of a GX expectation, e.g. expect_column_values_to_not_be_null)")
        try:
            suite.add_expectation(cls(**(cfg.get("kwargs") or {})))
        except Exception as exc:  # noqa: BLE001 - pydantic/GX errors; say which entry
            raise ExpectationConfigError(
                f"{entity} expectation #{i + 1} ({etype}): {exc}".splitlines()[0]) from exc
    return suite


def _get_context():
    """One ephemeral GX context per process, with progress bars and analytics off."""
    global _context
    if _context is None:
        for k, v in TELEMETRY_OFF.items():
            os.environ.setdefault(k, v)
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        _context = ctx
    return _context


def run_suite(entity: str, df, extra: list[dict] | None = None) -> SuiteResult:
    """Validate a pandas DataFrame of one batch against the entity's suite."""
    with _lock:
        ctx = _get_context()
        suite = build_suite(entity, extra)
        name = f"tl_{entity}"
        try:
            ds = ctx.data_sources.get(name)
        except Exception:  # noqa: BLE001 - not registered yet in this process
            ds = ctx.data_sources.add_pandas(name)
        try:
            asset = ds.get_asset(entity)
        except Exception:  # noqa: BLE001
            asset = ds.add_dataframe_asset(entity)
        try:
            bd = asset.get_batch_definition("whole")
        except Exception:  # noqa: BLE001
            bd = asset.add_batch_definition_whole_dataframe("whole")
        batch = bd.get_batch(batch_parameters={"dataframe": df})
        # BOOLEAN_ONLY is several times faster; details are computed only when something failed
        res = batch.validate(suite, result_format="BOOLEAN_ONLY")
        if not res.success:
            res = batch.validate(suite, result_format="SUMMARY")
    failed = []
    for r in res.results:
        if r.success:
            continue
        result = r.result or {}
        failed.append({"type": r.expectation_config.type,
                       "kwargs": {k: v for k, v in r.expectation_config.kwargs.items()
                                  if k != "batch_id"},
                       "unexpected_count": result.get("unexpected_count"),
                       "partial_unexpected_list": [str(v) for v in
                                                   (result.get("partial_unexpected_list") or [])
                                                   ][:5],
                       "exception": (r.exception_info or {}).get("exception_message")
                       if isinstance(r.exception_info, dict) else None})
    return SuiteResult(entity=entity, success=bool(res.success), evaluated=len(res.results),
                       rows=len(df), failed=failed)
