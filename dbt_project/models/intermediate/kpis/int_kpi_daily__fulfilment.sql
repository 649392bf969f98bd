-- Fulfilment KPIs per tenant and day: order cycle time (by delivery day), perfect-order / OTIF
-- rate (by due day, once due) and fill rate (by line order day).
with

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ tenant_filter() }}
      and not coalesce(is_cancelled, false)

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where {{ tenant_filter() }}

),

cycle_time as (

    select
        {{ kpi_row('order_cycle_time_days', 'delivered_date', 'sum(cycle_time_days)', 'count(*)') }}
    from orders
    where delivered_date is not null
    group by tenant_id, delivered_date

),

perfect_orders as (

    -- every order due by as_of_date counts; one not delivered yet is not on time
    select
        {{ kpi_row('perfect_order_rate', 'due_date',
                   'count(*) filter (where coalesce(is_perfect_order, false))', 'count(*)') }}
    from orders
    where due_date <= {{ as_of_date() }}
    group by tenant_id, due_date

),

fill_rate as (

    select
        {{ kpi_row('fill_rate', 'order_date',
                   'sum(coalesce(quantity_shipped, 0))', 'sum(quantity_ordered)') }}
    from order_lines
    where order_date is not null
    group by tenant_id, order_date

)

select * from cycle_time
union all
select * from perfect_orders
union all
select * from fill_rate
