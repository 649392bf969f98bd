-- Sales order headers. One row per tenant and order_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'orders') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        order_id,
        customer_id,
        location_id,

        ---------- attributes
        nullif(trim(currency), '') as currency,
        nullif(trim(channel), '') as channel,
        nullif(trim(status), '') as status,

        ---------- measures
        order_amount,
        manual_touches,

        ---------- flags
        has_exception,

        ---------- dates and timestamps
        order_date,
        requested_date,
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
        partition by tenant_id, order_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
