-- Customer accounts of the tenant. One row per tenant and customer_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'customers') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        customer_id,

        ---------- attributes
        nullif(trim(customer_name), '') as customer_name,
        nullif(trim(segment), '') as segment,
        nullif(trim(region), '') as region,
        nullif(trim(status), '') as status,

        ---------- dates and timestamps
        created_date,

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
        partition by tenant_id, customer_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
