"""Where rows come from: one iterator of :class:`SourceUnit` per tenant source.

File drops are read here (:mod:`.files`); REST APIs (:mod:`.api`) and SQL databases
(:mod:`.sql`) are imported lazily so that landing files never needs their dependencies.
"""

from __future__ import annotations

from collections.abc import Iterator

from tenantlake.landing.sources.base import SourceUnit
from tenantlake.tenants import Source, TenantConfig

__all__ = ["SourceUnit", "iter_units"]


def iter_units(source_name: str, source: Source, tenant: TenantConfig,
               home) -> Iterator[SourceUnit]:
    """Dispatch on ``source.kind``; every kind yields units with the same contract."""
    if source.kind == "file":
        from tenantlake.landing.sources.files import iter_file_units

        return iter_file_units(source_name, source, tenant, home)
    if source.kind == "api":
        from tenantlake.landing.sources.api import iter_api_units

        return iter_api_units(source_name, source, tenant, home)
    if source.kind == "sql":
        from tenantlake.landing.sources.sql import iter_sql_units

        return iter_sql_units(source_name, source, tenant, home)
    raise ValueError(f"tenant {tenant.id!r}, source {source_name!r}: unknown kind {source.kind!r}")


