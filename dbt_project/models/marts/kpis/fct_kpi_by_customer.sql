{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'date_day'}
) }}

-- Customer-level KPIs per tenant, day and customer: revenue and orders, perfect-order rate,
-- dispute rate, first-response time and CSAT, i.e. how each account is served. Same formulas
-- as the tenant-level KPIs, numerator/denominator per day.
with

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ tenant_filter() }}
      and not coalesce(is_cancelled, false)

),

invoices as (

    select * from {{ ref('fct_invoices') }}
    where {{ tenant_filter() }}
      and not coalesce(is_void, false)

),

tickets as (

    select * from {{ ref('fct_tickets') }}
    where {{ tenant_filter() }}
      and customer_id is not null

),

perfect_order_tenants as (

    -- OTIF only where the tenant sends what it needs (shipments with delivery dates)
    select tenant_id from {{ ref('int_kpi_availability') }}
    where kpi_name = 'perfect_order_rate' and is_available

),

kpis as (

    select tenant_id, order_date as date_day, customer_id, 'order_count' as kpi_name,
           cast(count(*) as double) as numerator, cast(null as double) as denominator
    from orders group by all
    union all
    select tenant_id, order_date, customer_id, 'revenue', coalesce(sum(order_amount), 0), null
    from orders group by all
    union all
    select tenant_id, due_date, customer_id, 'perfect_order_rate',
           count(*) filter (where coalesce(is_perfect_order, false)), count(*)
    from orders
    where due_date <= {{ as_of_date() }}
      and tenant_id in (select tenant_id from perfect_order_tenants)
    group by all
    union all
    select tenant_id, invoice_date, customer_id, 'dispute_rate',
           count(*) filter (where is_dispute), count(*)
    from invoices group by all
    union all
    select tenant_id, created_date, customer_id, 'first_response_time_hours',
           sum(first_response_hours), count(first_response_hours)
    from tickets where first_response_hours is not null group by all
    union all
    select tenant_id, coalesce(cast(resolved_at as date), created_date), customer_id, 'csat',
           sum(csat), count(csat)
    from tickets where csat is not null group by all

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
