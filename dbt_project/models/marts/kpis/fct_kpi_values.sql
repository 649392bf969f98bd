{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'period_start', 'window_grain_column': 'grain'}
) }}

-- Every KPI for every tenant at day, week and month grain, with target and prior period: what
-- scorecards, alerts and `tenantlake kpi show` read. A KPI whose inputs the tenant does not send
-- has is_available = false and a NULL value (never 0). Day rows exist for the tenant's
-- active days; week and month rows sum them. An incremental run recomputes the periods
-- that contain from_date; prior values come from the full history of fct_kpi_daily.
with

definitions as (

    select * from {{ ref('kpi_definitions') }}

),

availability as (

    select * from {{ ref('int_kpi_availability') }}
    where {{ tenant_filter() }}

),

daily as (

    select * from {{ ref('fct_kpi_daily') }}
    where {{ tenant_filter() }}

),

targets as (

    select * from {{ ref('stg_reference__kpi_targets') }}

),

first_activity as (

    -- a KPI's series starts on its first day with activity (a non-zero numerator or
    -- denominator), so periods before a tenant's first data are absent, never plotted as 0.
    -- From the full daily history: an incremental run and a full refresh agree.
    select tenant_id, kpi_name, min(date_day) as first_day
    from daily
    where coalesce(numerator, 0) <> 0 or coalesce(denominator, 0) <> 0
    group by tenant_id, kpi_name

),

calendar as (

    -- each tenant's active days (any KPI row), never past as_of_date. Active days, not a gap-
    -- filled range, so a one-day incremental run and a full refresh produce the same rows.
    select distinct tenant_id, date_day
    from daily
    where date_day <= {{ as_of_date() }}

),

day_values as (

    select
        c.tenant_id,
        c.date_day,
        k.kpi_name,
        k.is_ratio,
        coalesce(a.is_available, false) as is_available,
        a.missing_inputs,
        -- a day without activity counts as zero for an available KPI, unknown for the rest;
        -- totals (order_count, revenue) have no denominator
        case when a.is_available then coalesce(d.numerator, 0) end as numerator,
        case when a.is_available and k.is_ratio then coalesce(d.denominator, 0) end as denominator
    from calendar as c
    cross join definitions as k
    left join availability as a
        on c.tenant_id = a.tenant_id
        and k.kpi_name = a.kpi_name
    left join daily as d
        on c.tenant_id = d.tenant_id
        and c.date_day = d.date_day
        and k.kpi_name = d.kpi_name
    left join first_activity as f
        on c.tenant_id = f.tenant_id
        and k.kpi_name = f.kpi_name
    -- not-available KPIs keep their rows (shown as "not available"); an available KPI that never
    -- had activity keeps its zeros (there is no first day to start from)
    where not coalesce(a.is_available, false)
        or f.first_day is null
        or c.date_day >= f.first_day

),

grains as (

    select unnest(['day', 'week', 'month']) as grain

),

periods as (

    select
        v.tenant_id,
        g.grain,
        cast(date_trunc(g.grain, v.date_day) as date) as period_start,
        v.kpi_name,
        any_value(v.is_ratio) as is_ratio,
        bool_or(v.is_available) as is_available,
        any_value(v.missing_inputs) as missing_inputs,
        sum(v.numerator) as numerator,
        sum(v.denominator) as denominator,
        count(*) as days_covered
    from day_values as v
    cross join grains as g
    group by all

),

valued as (

    select
        *,
        case
            when not is_available then null
            when is_ratio then {{ safe_divide('numerator', 'denominator') }}
            else numerator
        end as value
    from periods

),

final as (

    select
        ---------- grain
        v.tenant_id,
        v.grain,
        v.period_start,
        cast(case v.grain
            when 'day' then v.period_start
            when 'week' then v.period_start + interval 6 day
            else v.period_start + interval 1 month - interval 1 day
        end as date) as period_end,
        v.kpi_name,

        ---------- value
        v.numerator,
        v.denominator,
        v.value,
        v.is_available,
        v.missing_inputs,
        v.days_covered,

        ---------- comparison
        t.target,
        lag(v.value) over (
            partition by v.tenant_id, v.grain, v.kpi_name order by v.period_start
        ) as prior_value,
        v.value - lag(v.value) over (
            partition by v.tenant_id, v.grain, v.kpi_name order by v.period_start
        ) as change

    from valued as v
    left join targets as t
        on v.tenant_id = t.tenant_id
        and v.kpi_name = t.kpi_name

)

select * from final
{% if is_incremental() %}where {{ scope_predicate('period_start', 'grain') }}{% endif %}
