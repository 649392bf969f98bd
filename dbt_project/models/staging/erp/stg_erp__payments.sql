-- Customer payments applied to invoices. One row per tenant and payment_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'payments') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        payment_id,
        invoice_id,
        customer_id,

        ---------- measures
        amount,

        ---------- dates and timestamps
        payment_date,

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
        partition by tenant_id, payment_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
