"""Resources shared by every layer: where the project home is, and the tenants in it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from tenantlake.settings import Home, home
from tenantlake.tenants import TenantConfig, load_tenant, load_tenants


class TenantlakeResource(dg.ConfigurableResource):
    """The project home (lake, warehouse, MLflow, operational store) and tenant configs.

    ``home_dir`` defaults to ``$TENANTLAKE_HOME`` (or ./.tenantlake) at run time, so the same
    definitions serve the demo, the tests (temporary homes) and production (configuration).
    """

    home_dir: str | None = None

    @property
    def home(self) -> Home:
        return (Home(Path(self.home_dir).resolve()) if self.home_dir else home()).ensure()

    def tenant(self, tenant_id: str) -> TenantConfig:
        return load_tenant(tenant_id)

    def tenants(self) -> dict[str, TenantConfig]:
        return load_tenants(skip_invalid=True)
