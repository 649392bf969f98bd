{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'order_date'}
) }}

-- One row per tenant, order and line: every contract column, the order date filled from the
-- header when the line export lacks it, and line value, backorder and cost figures.
-- Large: incremental by tenant and order_date (vars tenant_id, from_date).
with

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}
    {% if is_incremental() %}where {{ tenant_filter() }}{% endif %}

),

orders as (

    select tenant_id, order_id, order_date, location_id, channel, customer_id
    from {{ ref('stg_erp__orders') }}
    {% if is_incremental() %}where {{ tenant_filter() }}{% endif %}

),

products as (

    select tenant_id, sku, unit_cost from {{ ref('stg_erp__products') }}

),

joined as (

    select
        ---------- contract columns (order_date and location_id fall back to the header)
        l.tenant_id,
        l.order_id,
        l.line_number,
        l.sku,
        l.quantity_ordered,
        l.quantity_shipped,
        l.unit_price,
        l.discount_pct,
        l.net_amount,
        coalesce(l.location_id, o.location_id) as location_id,
        coalesce(l.order_date, o.order_date) as order_date,
        l.promised_date,
        l.is_promo,

        ---------- from the order header
        o.customer_id,
        o.channel,

        ---------- derived measures
        coalesce(l.net_amount, l.quantity_ordered * l.unit_price * (1 - coalesce(l.discount_pct, 0)))
            as line_amount,
        greatest(l.quantity_ordered - coalesce(l.quantity_shipped, 0), 0) as quantity_open,
        p.unit_cost,
        l.quantity_shipped * p.unit_cost as shipped_cost

    from order_lines as l
    left join orders as o
        on l.tenant_id = o.tenant_id
        and l.order_id = o.order_id
    left join products as p
        on l.tenant_id = p.tenant_id
        and l.sku = p.sku

)

select * from joined
{% if is_incremental() %}where {{ scope_predicate('order_date') }}{% endif %}
