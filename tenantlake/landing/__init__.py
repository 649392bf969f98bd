"""Landing: tenant exports -> canonical, validated, crash-safe Parquet batches.

``land_tenant(tenant, home, entities=None) -> LandingReport`` is the one entry point (the CLI's
``tenantlake land`` and the Dagster raw assets call it). See :mod:`tenantlake.landing.core` for
the write protocol, :mod:`.transform` for mapping/coercion/row rules, :mod:`.gate` for the
quality gate and :mod:`.sources` for readers.
"""

from tenantlake.landing.core import land_tenant
from tenantlake.landing.errors import (
    DropFolderMissingError,
    LandingConfigError,
    LandingError,
    SourceFileError,
)
from tenantlake.landing.report import CheckResult, EntityReport, GateResult, LandingReport

__all__ = [
    "CheckResult",
    "DropFolderMissingError",
    "EntityReport",
    "GateResult",
    "LandingConfigError",
    "LandingError",
    "LandingReport",
    "SourceFileError",
    "land_tenant",
]
