-- Purchase order lines to suppliers. One row per tenant and po_id + line_number: the latest landed version.
with

source as (

    select * from {{ source('lake', 'purchase_orders') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        po_id,
        line_number,
        supplier_id,
        sku,
        location_id,

        ---------- attributes
        nullif(trim(status), '') as status,

        ---------- measures
        quantity_ordered,
        quantity_received,
        unit_cost,

        ---------- dates and timestamps
        order_date,
        expected_date,
        acknowledged_date,
        received_date,

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
        partition by tenant_id, po_id, line_number
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
