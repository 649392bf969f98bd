"""Dagster definitions for tenantlake: every box of the flow is an asset partitioned by tenant."""

import warnings

# tenant_pipeline mixes per-tenant landing with dbt and serving assets that accept a run over a
# range of tenant partitions (one `dbt build` for every tenant landed together): intended, and
# Dagster's per-job warning about it (and the beta note on backfill_policy) is only noise here.
warnings.filterwarnings("ignore", message="Asset job tenant_pipeline materializes assets with "
                                          "varying BackfillPolicies")
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset`")
