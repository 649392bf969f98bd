{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'date_day'}
) }}

-- Inventory and fill KPIs per tenant, day, SKU and location: which items run out, how long stock
-- lasts and which lines ship short. Same formulas as the tenant-level KPIs; numerator and
-- denominator per day so a week or month is sum(numerator) / sum(denominator).
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

stock as (

    select
        tenant_id,
        snapshot_date as date_day,
        sku,
        location_id,
        case when is_stockout then 1 else 0 end as out_of_stock,
        on_hand_qty
    from inventory

),

demand as (

    select
        tenant_id,
        order_date as date_day,
        sku,
        coalesce(location_id, 'unknown') as location_id,
        sum(quantity_ordered) as units_ordered,
        sum(coalesce(quantity_shipped, 0)) as units_shipped
    from order_lines
    group by all

),

kpis as (

    select tenant_id, date_day, sku, location_id, 'stockout_rate' as kpi_name,
           cast(out_of_stock as double) as numerator, cast(1 as double) as denominator
    from stock
    union all
    select tenant_id, date_day, sku, location_id, 'days_of_cover', on_hand_qty, 0 from stock
    union all
    select tenant_id, date_day, sku, location_id, 'days_of_cover', 0, units_ordered from demand
    union all
    select tenant_id, date_day, sku, location_id, 'fill_rate', units_shipped, units_ordered from demand

),

final as (

    select
        tenant_id,
        date_day,
        sku,
        location_id,
        kpi_name,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        {{ safe_divide('sum(numerator)', 'sum(denominator)') }} as value
    from kpis
    group by all

)

select * from final
{% if is_incremental() %}where {{ scope_predicate('date_day') }}{% endif %}
