{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'snapshot_date'}
) }}

-- One row per tenant, day, SKU and location: the stock snapshot with every contract column,
-- available quantity, stockout flag and value at standard cost.
-- Large: incremental by tenant and snapshot_date (vars tenant_id, from_date).
with

snapshots as (

    select * from {{ ref('stg_erp__inventory_snapshots') }}
    {% if is_incremental() %}where {{ scope_predicate('snapshot_date') }}{% endif %}

),

products as (

    select tenant_id, sku, unit_cost from {{ ref('stg_erp__products') }}

),

final as (

    select
        ---------- contract columns
        {{ contract_columns('inventory_snapshots', 's') }},

        ---------- derived
        s.on_hand_qty - coalesce(s.allocated_qty, 0) as available_qty,
        s.on_hand_qty - coalesce(s.allocated_qty, 0) <= 0 as is_stockout,
        s.on_hand_qty < s.safety_stock_qty as is_below_safety_stock,
        p.unit_cost,
        s.on_hand_qty * p.unit_cost as inventory_value

    from snapshots as s
    left join products as p
        on s.tenant_id = p.tenant_id
        and s.sku = p.sku

)

select * from final
