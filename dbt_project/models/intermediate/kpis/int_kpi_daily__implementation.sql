-- Implementation KPIs per tenant and day: go-live on time (by go-live day), milestone slippage
-- (by completion day) and post-go-live ticket load (tickets per project-month in hypercare:
-- 30 x tickets over project-days in the hypercare window, both summed per day).
with

projects as (

    select * from {{ ref('fct_projects') }}
    where {{ tenant_filter() }}

),

milestones as (

    select * from {{ ref('fct_milestones') }}
    where {{ tenant_filter() }}

),

tickets as (

    select * from {{ ref('fct_tickets') }}
    where {{ tenant_filter() }}
      and project_id is not null

),

go_live as (

    select
        {{ kpi_row('go_live_on_time_rate', 'actual_go_live_date',
                   'count(*) filter (where is_on_time_go_live)', 'count(*)') }}
    from projects
    where actual_go_live_date is not null
    group by tenant_id, actual_go_live_date

),

slippage as (

    select
        {{ kpi_row('milestone_slippage_days', 'actual_date', 'sum(slippage_days)', 'count(*)') }}
    from milestones
    where actual_date is not null
    group by tenant_id, actual_date

),

hypercare_days as (

    -- one row per live project and day of its hypercare window (up to as_of_date)
    select
        tenant_id,
        project_id,
        actual_go_live_date,
        cast(unnest(generate_series(
            actual_go_live_date,
            least(actual_go_live_date + cast({{ var('hypercare_days') }} as integer) - 1, {{ as_of_date() }}),
            interval 1 day)) as date) as date_day
    from projects
    where actual_go_live_date is not null
      and actual_go_live_date <= {{ as_of_date() }}

),

hypercare_tickets as (

    select h.tenant_id, h.date_day, count(*) as tickets
    from tickets as t
    inner join hypercare_days as h
        on t.tenant_id = h.tenant_id
        and t.project_id = h.project_id
        and t.created_date = h.date_day
    group by h.tenant_id, h.date_day

),

ticket_load as (

    select {{ kpi_row('post_go_live_ticket_load', 'date_day', '0', 'count(*)') }}
    from hypercare_days
    group by tenant_id, date_day
    union all
    select {{ kpi_row('post_go_live_ticket_load', 'date_day', '30 * tickets', '0') }}
    from hypercare_tickets

)

select * from go_live
union all
select * from slippage
union all
select * from ticket_load
