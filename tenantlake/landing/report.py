"""What a landing run reports: per entity counts, the quality gate and its checks.

These plain dataclasses are the contract with the Dagster layer (asset metadata and asset
checks are built from them) and with the CLI (``--json`` prints :meth:`LandingReport.to_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CheckResult:
    name: str
    passed: bool
    blocking: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class GateResult:
    passed: bool = True
    checks: list[CheckResult] = field(default_factory=list)
    #: New batches this run blocked: {batch_id: [{"check", "description"}]}.
    blocked: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def add(self, check: CheckResult) -> None:
        self.checks.append(check)
        if check.blocking and not check.passed:
            self.passed = False


@dataclass
class EntityReport:
    """Counts for one (tenant, entity) in one run.

    ``rows_in`` counts the rows that belong to the entity: rows a mapping's ``where`` filter
    drops are *not* part of the entity (they are reported as ``rows_filtered``), so the invariant
    ``rows_in == rows_landed + rows_held + rows_quarantined + rows_duplicate_dropped`` holds for
    every run (``rows_held``: good rows of batches the gate blocked).
    """

    entity: str
    sent: bool = False
    rows_in: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    rows_filtered: int = 0
    #: Good rows of batches whose gate failed: kept in lake/held, not landed.
    rows_held: int = 0
    #: Exact copies of an earlier row (same key, same values): counted and dropped.
    rows_duplicate_dropped: int = 0
    units_seen: int = 0
    units_skipped: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    batch_ids: list[str] = field(default_factory=list)
    #: Batches held back by the gate (this run's and earlier runs' still blocked).
    blocked_batches: list[str] = field(default_factory=list)
    drift_columns: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Source currencies of the units landed (recorded only; amounts are not converted yet).
    currencies: list[str] = field(default_factory=list)
    gate: GateResult = field(default_factory=GateResult)


@dataclass
class LandingReport:
    tenant_id: str
    entities: dict[str, EntityReport] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every entity's gate passed and no file was refused."""
        return not self.errors and all(e.gate.passed for e in self.entities.values())

    def to_dict(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "passed": self.passed, "errors": self.errors,
                "entities": {k: asdict(v) for k, v in self.entities.items()}}
