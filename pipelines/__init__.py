"""Dagster definitions for tenantlake: every box of the flow is an asset partitioned by tenant."""
