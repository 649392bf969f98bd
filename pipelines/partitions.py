"""Tenants as partitions.

The partition set is read from ``tenants/*.yml`` when the code location loads, so adding a tenant
file and reloading the location (or restarting ``tenantlake ui dagster``) makes its partition
appear; ``tenantlake tenants onboard ID`` then runs its first backfill. A static set (rather than
DOP's dynamic one fed by a sensor) keeps the YAML the single source of truth: a partition can
never exist for a tenant that has no configuration.
"""

from __future__ import annotations

import dagster as dg

from tenantlake.tenants import load_tenants


def tenant_ids() -> list[str]:
    return sorted(load_tenants(skip_invalid=True))


tenant_partitions = dg.StaticPartitionsDefinition(tenant_ids())
