-- Tenants as configured in tenants/<id>.yml (lake/reference/tenants.parquet, written by
-- tenantlake.kpi.write_reference_tables). Empty, typed, when the file has not been written yet.
with

source as (

    select * from {{ read_lake_parquet(lake_root() ~ '/reference/tenants.parquet', [
        ('tenant_id', 'varchar'), ('display_name', 'varchar'), ('partner_id', 'varchar'),
        ('partner_name', 'varchar'), ('industry', 'varchar'), ('currency', 'varchar'),
        ('timezone', 'varchar'), ('entities', 'varchar'), ('revenue_basis', 'varchar')],
        tenant_column=none) }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        partner_id,

        ---------- attributes
        display_name,
        partner_name,
        industry,
        currency,
        timezone,
        -- canonical entities the tenant's YAML maps, space separated
        entities as configured_entities,
        -- kpi_options.revenue_basis: auto | order_amount | line_net_amount
        coalesce(revenue_basis, 'auto') as revenue_basis

    from source

)

select * from renamed
