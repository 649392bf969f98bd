-- Runs of automated business workflows. One row per tenant and run_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'workflow_runs') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        run_id,
        order_id,

        ---------- attributes
        nullif(trim(workflow_name), '') as workflow_name,
        nullif(trim(status), '') as status,
        nullif(trim(exception_type), '') as exception_type,

        ---------- measures
        manual_touches,
        model_confidence,

        ---------- flags
        approval_required,
        approval_given,
        ai_assisted,

        ---------- dates and timestamps
        started_at,
        finished_at,

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
        partition by tenant_id, run_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
