-- Order-header KPIs per tenant and order day, as numerator/denominator pairs (KPI catalog:
-- seeds/kpi_definitions.csv). Needs only orders, so a tenant sending just order headers gets them.
with

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ tenant_filter() }}

),

daily as (

    select
        tenant_id,
        order_date as date_day,
        count(*) as orders_placed,
        count(*) filter (where not coalesce(is_cancelled, false)) as orders_not_cancelled,
        sum(order_amount) filter (where not coalesce(is_cancelled, false)) as revenue,
        count(order_amount) filter (where not coalesce(is_cancelled, false)) as orders_with_amount,
        count(*) filter (where is_backordered) as orders_backordered,
        count(status) filter (where not coalesce(is_cancelled, false)) as orders_with_status,
        sum(manual_touches) as manual_touches,
        count(manual_touches) as orders_with_touches,
        count(*) filter (where has_exception) as orders_with_exception,
        count(has_exception) as orders_reporting_exception
    from orders
    group by tenant_id, order_date

),

kpis as (

    select {{ kpi_row('order_count', 'date_day', 'orders_placed', '1') }} from daily
    union all
    select {{ kpi_row('revenue', 'date_day', 'coalesce(revenue, 0)', '1') }} from daily
    union all
    select {{ kpi_row('average_order_value', 'date_day', 'coalesce(revenue, 0)', 'orders_with_amount') }} from daily
    union all
    select {{ kpi_row('backorder_rate', 'date_day', 'orders_backordered', 'orders_with_status') }} from daily
    union all
    select {{ kpi_row('manual_touches_per_order', 'date_day', 'coalesce(manual_touches, 0)', 'orders_with_touches') }} from daily
    union all
    select {{ kpi_row('order_exception_rate', 'date_day', 'orders_with_exception', 'orders_reporting_exception') }} from daily

)

select * from kpis
