{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'started_date'}
) }}

-- One row per tenant and workflow run: every contract column plus duration and outcome flags.
-- Large: incremental by tenant and started_date.
with

runs as (

    select * from {{ ref('stg_workflow__workflow_runs') }}
    {% if is_incremental() %}where {{ tenant_filter() }} and {{ window_filter('cast(started_at as date)') }}{% endif %}

),

final as (

    select
        ---------- contract columns
        {{ contract_columns('workflow_runs') }},

        ---------- derived
        cast(started_at as date) as started_date,
        epoch(finished_at) - epoch(started_at) as duration_seconds,
        status <> 'running' as is_finished,
        status in ('failed', 'exception') as is_failed,
        -- touchless: succeeded with no human intervention
        status = 'succeeded' and coalesce(manual_touches, 0) = 0 as is_touchless

    from runs

)

select * from final
