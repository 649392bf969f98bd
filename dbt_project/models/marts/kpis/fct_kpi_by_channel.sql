{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'date_day'}
) }}

-- Order KPIs per tenant, day and order intake channel (web, edi, phone...): where manual work,
-- exceptions and late orders come from. Same formulas as the tenant-level KPIs
-- (seeds/kpi_definitions.csv), numerator/denominator per day so periods re-aggregate.
with

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ tenant_filter() }}
      and not coalesce(is_cancelled, false)

),

perfect_order_tenants as (

    -- OTIF only where the tenant sends what it needs (shipments with delivery dates)
    select tenant_id from {{ ref('int_kpi_availability') }}
    where kpi_name = 'perfect_order_rate' and is_available

),

daily as (

    select
        tenant_id,
        order_date as date_day,
        coalesce(channel, 'unknown') as channel,
        count(*) as orders_placed,
        coalesce(sum(order_amount), 0) as revenue,
        count(order_amount) as orders_with_amount,
        coalesce(sum(manual_touches), 0) as manual_touches,
        count(manual_touches) as orders_with_touches,
        count(*) filter (where has_exception) as orders_with_exception,
        count(has_exception) as orders_reporting_exception
    from orders
    group by all

),

perfect_orders as (

    select
        tenant_id,
        due_date as date_day,
        coalesce(channel, 'unknown') as channel,
        count(*) filter (where coalesce(is_perfect_order, false)) as perfect_orders,
        count(*) as orders_due
    from orders
    where due_date <= {{ as_of_date() }}
      and tenant_id in (select tenant_id from perfect_order_tenants)
    group by all

),

kpis as (

    select tenant_id, date_day, channel, 'order_count' as kpi_name,
           cast(orders_placed as double) as numerator, cast(null as double) as denominator
    from daily
    union all
    select tenant_id, date_day, channel, 'revenue', revenue, null from daily
    union all
    select tenant_id, date_day, channel, 'average_order_value', revenue, orders_with_amount from daily
    union all
    select tenant_id, date_day, channel, 'manual_touches_per_order', manual_touches, orders_with_touches
    from daily where orders_with_touches > 0
    union all
    select tenant_id, date_day, channel, 'order_exception_rate', orders_with_exception, orders_reporting_exception
    from daily where orders_reporting_exception > 0
    union all
    select tenant_id, date_day, channel, 'perfect_order_rate', perfect_orders, orders_due from perfect_orders

),

final as (

    select
        *,
        case when denominator is null then numerator
             else {{ safe_divide('numerator', 'denominator') }} end as value
    from kpis

)

select * from final
{% if is_incremental() %}where {{ scope_predicate('date_day') }}{% endif %}
