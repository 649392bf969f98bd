-- KPI targets from the tenants' YAML (`kpi_targets:`), long form, one row per tenant and KPI
-- (lake/reference/kpi_targets.parquet). Empty, typed, when the file has not been written yet.
with

source as (

    select * from {{ read_lake_parquet(lake_root() ~ '/reference/kpi_targets.parquet', [
        ('tenant_id', 'varchar'), ('kpi_name', 'varchar'), ('target', 'double')],
        tenant_column=none) }}

),

renamed as (

    select
        tenant_id,
        kpi_name,
        target
    from source

)

select * from renamed
