-- On-hand stock per SKU and location per day. One row per tenant and snapshot_date + sku + location_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'inventory_snapshots') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        snapshot_date,
        sku,
        location_id,

        ---------- measures
        on_hand_qty,
        allocated_qty,
        on_order_qty,
        safety_stock_qty,

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
        partition by tenant_id, snapshot_date, sku, location_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
