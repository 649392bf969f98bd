{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and implementation project: every contract column plus go-live delay,
-- milestone progress, post-go-live tickets and an at-risk flag (the partner scorecard's inputs).
with

projects as (

    select * from {{ ref('stg_implementation__projects') }}

),

milestones as (

    select * from {{ ref('fct_milestones') }}
    {% if is_incremental() %}where {{ tenant_filter() }}{% endif %}

),

tickets as (

    select tenant_id, project_id, created_at from {{ ref('stg_support__tickets') }}
    where project_id is not null

),

milestone_progress as (

    select
        tenant_id,
        project_id,
        count(*) as milestone_count,
        count(actual_date) as milestones_done,
        count(*) filter (where is_overdue) as milestones_overdue,
        max(days_overdue) as max_days_overdue,
        avg(slippage_days) as avg_milestone_slippage_days
    from milestones
    group by tenant_id, project_id

),

hypercare_tickets as (

    select
        p.tenant_id,
        p.project_id,
        count(*) as post_go_live_tickets
    from tickets as t
    inner join projects as p
        on t.tenant_id = p.tenant_id
        and t.project_id = p.project_id
    where p.actual_go_live_date is not null
      and cast(t.created_at as date) >= p.actual_go_live_date
      and cast(t.created_at as date) < p.actual_go_live_date + cast({{ var('hypercare_days') }} as integer)
    group by p.tenant_id, p.project_id

),

final as (

    select
        ---------- contract columns
        {{ contract_columns('projects', 'p') }},

        ---------- go-live
        date_diff('day', p.planned_go_live_date, p.actual_go_live_date) as go_live_delay_days,
        p.actual_go_live_date is not null as is_live,
        p.actual_go_live_date <= p.planned_go_live_date as is_on_time_go_live,

        ---------- milestones
        coalesce(m.milestone_count, 0) as milestone_count,
        coalesce(m.milestones_done, 0) as milestones_done,
        coalesce(m.milestones_overdue, 0) as milestones_overdue,
        m.avg_milestone_slippage_days,

        ---------- support after go-live
        coalesce(h.post_go_live_tickets, 0) as post_go_live_tickets,

        ---------- risk: an open project past its planned go-live, with a milestone overdue by
        ---------- more than milestone_overdue_risk_days, or over budget
        p.status not in ('live', 'cancelled') and (
            p.planned_go_live_date < {{ as_of_date() }}
            or coalesce(m.max_days_overdue, 0) > {{ var('milestone_overdue_risk_days') }}
            or coalesce(p.spent_hours > p.budget_hours, false)
        ) as is_at_risk

    from projects as p
    left join milestone_progress as m
        on p.tenant_id = m.tenant_id
        and p.project_id = m.project_id
    left join hypercare_tickets as h
        on p.tenant_id = h.tenant_id
        and p.project_id = h.project_id

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
