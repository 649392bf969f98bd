-- Sellable items (SKUs). One row per tenant and sku: the latest landed version.
with

source as (

    select * from {{ source('lake', 'products') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        sku,
        supplier_id,

        ---------- attributes
        nullif(trim(product_name), '') as product_name,
        nullif(trim(category), '') as category,

        ---------- measures
        unit_cost,
        list_price,
        lead_time_days,

        ---------- flags
        is_active,

        ---------- lineage (which landed batch, file and row the version came from)
        _batch_id,
        _source_file,
        _source_row,
        _ingested_at

    from source

),

deduplicated as (

    -- Raw may hold the same rows several times (full exports re-sent): keep the latest landed.
    select *
    from renamed
    qualify row_number() over (
        partition by tenant_id, sku
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
