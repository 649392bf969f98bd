-- Sales order lines. One row per tenant and order_id + line_number: the latest landed version.
with

source as (

    select * from {{ source('lake', 'order_lines') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        order_id,
        line_number,
        sku,
        location_id,

        ---------- measures
        quantity_ordered,
        quantity_shipped,
        unit_price,
        discount_pct,
        net_amount,

        ---------- flags
        is_promo,

        ---------- dates and timestamps
        order_date,
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
        partition by tenant_id, order_id, line_number
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
