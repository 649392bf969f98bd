-- Support KPIs per tenant and day: first-response time (by creation day), first-contact
-- resolution (by resolution day), SLA adherence (by SLA deadline day, once due or resolved) and
-- CSAT (by resolution day, else creation day).
with

tickets as (

    select * from {{ ref('fct_tickets') }}
    where {{ tenant_filter() }}

),

first_response as (

    select
        {{ kpi_row('first_response_time_hours', 'created_date',
                   'sum(first_response_hours)', 'count(first_response_hours)') }}
    from tickets
    group by tenant_id, created_date

),

first_contact as (

    select
        {{ kpi_row('first_contact_resolution_rate', 'cast(resolved_at as date)',
                   'count(*) filter (where is_first_contact_resolution)',
                   'count(is_first_contact_resolution)') }}
    from tickets
    where resolved_at is not null
    group by tenant_id, cast(resolved_at as date)

),

sla as (

    select
        {{ kpi_row('sla_adherence_rate', 'cast(sla_due_at as date)',
                   'count(*) filter (where is_sla_met)', 'count(*)') }}
    from tickets
    where sla_due_at is not null
      and (resolved_at is not null or sla_due_at < {{ as_of_date() }})
    group by tenant_id, cast(sla_due_at as date)

),

satisfaction as (

    select
        {{ kpi_row('csat', 'coalesce(cast(resolved_at as date), created_date)',
                   'sum(csat)', 'count(csat)') }}
    from tickets
    where csat is not null
    group by tenant_id, coalesce(cast(resolved_at as date), created_date)

)

select * from first_response
union all
select * from first_contact
union all
select * from sla
union all
select * from satisfaction
