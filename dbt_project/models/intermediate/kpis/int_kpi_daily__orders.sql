-- Order-header KPIs per tenant and order day, as numerator/denominator pairs (KPI catalog:
-- seeds/kpi_definitions.csv). Needs only orders, so a tenant sending just order headers gets them.
with

order_headers as (

    select * from {{ ref('fct_orders') }}
    where {{ tenant_filter() }}

),

order_line_amounts as (

    select
        tenant_id,
        order_id,
        sum(net_amount) as lines_net_amount,
        count(*) = count(net_amount) as every_line_has_amount
    from {{ ref('fct_order_lines') }}
    where {{ tenant_filter() }}
    group by tenant_id, order_id

),

revenue_basis as (

    select tenant_id, revenue_basis from {{ ref('stg_reference__tenants') }}

),

orders as (

    -- revenue_amount: the amount the money KPIs use (kpi_options.revenue_basis). auto: the
    -- order's net line amounts when every line has one (lines are net of tax), else the header
    select
        h.*,
        case
            when b.revenue_basis = 'order_amount' then h.order_amount
            when b.revenue_basis = 'line_net_amount' then l.lines_net_amount
            when l.every_line_has_amount then l.lines_net_amount
            else h.order_amount
        end as revenue_amount
    from order_headers as h
    left join order_line_amounts as l
        on h.tenant_id = l.tenant_id
        and h.order_id = l.order_id
    left join revenue_basis as b
        on h.tenant_id = b.tenant_id

),

daily as (

    select
        tenant_id,
        order_date as date_day,
        count(*) as orders_placed,
        count(*) filter (where not coalesce(is_cancelled, false)) as orders_not_cancelled,
        sum(revenue_amount) filter (where not coalesce(is_cancelled, false)) as revenue,
        count(revenue_amount) filter (where not coalesce(is_cancelled, false)) as orders_with_amount,
        count(*) filter (where is_backordered) as orders_backordered,
        count(*) filter (where status = 'returned') as orders_returned,
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
    select {{ kpi_row('return_rate', 'date_day', 'orders_returned', 'orders_with_status') }} from daily
    union all
    select {{ kpi_row('manual_touches_per_order', 'date_day', 'coalesce(manual_touches, 0)', 'orders_with_touches') }} from daily
    union all
    select {{ kpi_row('order_exception_rate', 'date_day', 'orders_with_exception', 'orders_reporting_exception') }} from daily

)

select * from kpis
