-- Implementation projects (go-lives, rollouts). One row per tenant and project_id: the latest landed version.
with

source as (

    select * from {{ source('lake', 'projects') }}

),

renamed as (

    select
        ---------- ids
        tenant_id,
        project_id,
        partner_id,

        ---------- attributes
        nullif(trim(project_name), '') as project_name,
        nullif(trim(project_type), '') as project_type,
        nullif(trim(status), '') as status,

        ---------- measures
        budget_hours,
        spent_hours,
        scope_changes,

        ---------- dates and timestamps
        start_date,
        planned_go_live_date,
        actual_go_live_date,

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
        partition by tenant_id, project_id
        order by _ingested_at desc, _batch_id desc, _source_row desc
    ) = 1

)

select * from deduplicated
