-- Sales opportunities. One row per tenant and opportunity_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'opportunities') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        opportunity_id,
        customer_id,

        ---------- attributes
        nullif(trim(stage), '') as stage,
        nullif(trim(owner), '') as owner,

        ---------- measures
        amount,

        ---------- dates and timestamps
        created_date,
        close_date,

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
        partition by tenant_id, opportunity_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
