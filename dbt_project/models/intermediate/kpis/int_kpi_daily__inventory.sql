-- Inventory KPIs per tenant and day. Stock figures come from snapshots and demand from order
-- lines on their own days, so each KPI is emitted as partial rows (stock with denominator 0,
-- demand with numerator 0) that fct_kpi_daily sums per day: ratios of sums stay correct when
-- re-aggregated to weeks and months (average stock over average daily demand).
with

inventory as (

    select * from {{ ref('fct_inventory_daily') }}
    where {{ tenant_filter() }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where {{ tenant_filter() }}
      and order_date is not null

),

stock_per_day as (

    select
        tenant_id,
        snapshot_date as date_day,
        count(*) as snapshots,
        count(*) filter (where is_stockout) as snapshots_out_of_stock,
        sum(on_hand_qty) as on_hand_qty,
        sum(inventory_value) as inventory_value
    from inventory
    group by tenant_id, snapshot_date

),

demand_per_day as (

    select
        tenant_id,
        order_date as date_day,
        sum(quantity_ordered) as units_ordered,
        sum(shipped_cost) as cost_of_goods_shipped
    from order_lines
    group by tenant_id, order_date

)

select {{ kpi_row('stockout_rate', 'date_day', 'snapshots_out_of_stock', 'snapshots') }} from stock_per_day
union all
select {{ kpi_row('days_of_cover', 'date_day', 'on_hand_qty', '0') }} from stock_per_day
union all
select {{ kpi_row('days_of_cover', 'date_day', '0', 'units_ordered') }} from demand_per_day
union all
select {{ kpi_row('inventory_turns', 'date_day', '0', 'coalesce(inventory_value, 0)') }} from stock_per_day
union all
select {{ kpi_row('inventory_turns', 'date_day', '365 * coalesce(cost_of_goods_shipped, 0)', '0') }} from demand_per_day
