-- Outbound shipments (deliveries) against orders. One row per tenant and shipment_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'shipments') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        shipment_id,
        order_id,
        location_id,

        ---------- attributes
        nullif(trim(carrier), '') as carrier,

        ---------- flags
        is_complete,

        ---------- dates and timestamps
        ship_date,
        delivered_date,
        promised_date,

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
        partition by tenant_id, shipment_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
