-- Warehouses, stores and distribution centres. One row per tenant and location_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'locations') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        location_id,

        ---------- attributes
        nullif(trim(location_name), '') as location_name,
        nullif(trim(location_type), '') as location_type,
        nullif(trim(region), '') as region,

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
        partition by tenant_id, location_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
