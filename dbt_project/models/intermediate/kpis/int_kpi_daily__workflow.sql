-- Workflow-automation KPIs per tenant and run start day, over finished runs.
with

runs as (

    select * from {{ ref('fct_workflow_runs') }}
    where {{ tenant_filter() }}
      and is_finished

),

daily as (

    select
        tenant_id,
        started_date as date_day,
        count(*) as finished_runs,
        count(*) filter (where is_touchless) as touchless_runs,
        count(*) filter (where is_failed) as failed_runs
    from runs
    group by tenant_id, started_date

)

select {{ kpi_row('automation_rate', 'date_day', 'touchless_runs', 'finished_runs') }} from daily
union all
select {{ kpi_row('workflow_failure_rate', 'date_day', 'failed_runs', 'finished_runs') }} from daily
