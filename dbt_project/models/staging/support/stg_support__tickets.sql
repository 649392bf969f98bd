-- Support tickets. One row per tenant and ticket_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'tickets') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        ticket_id,
        customer_id,
        project_id,

        ---------- attributes
        nullif(trim(priority), '') as priority,
        nullif(trim(channel), '') as channel,
        nullif(trim(category), '') as category,

        ---------- measures
        contacts_to_resolve,
        csat,

        ---------- dates and timestamps
        created_at,
        first_response_at,
        resolved_at,
        sla_due_at,

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
        partition by tenant_id, ticket_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
