{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and order: the order header with every contract column, plus fulfilment
-- (from lines and shipments) and the flags the order KPIs are built from.
with

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

fulfilment as (

    select * from {{ ref('int_orders_fulfilment') }}

),

joined as (

    select
        ---------- contract columns
        {{ contract_columns('orders', 'o') }},

        ---------- fulfilment (null when the tenant sends no lines / shipments)
        f.line_count,
        f.quantity_ordered as lines_quantity_ordered,
        f.quantity_shipped as lines_quantity_shipped,
        f.shipment_count,
        f.first_ship_date,
        f.delivered_date,
        -- the date the order had to arrive by: header promise, else request, else line/shipment promise
        coalesce(o.promised_date, o.requested_date, f.line_promised_date, f.shipment_promised_date)
            as due_date,
        -- in full: a shipment flagged complete, else all ordered units shipped, else delivered
        coalesce(
            f.has_complete_shipment,
            f.quantity_shipped >= f.quantity_ordered,
            case when f.delivered_date is not null then true end
        ) as is_in_full,

        ---------- flags
        o.status = 'cancelled' as is_cancelled,
        o.status = 'backordered' as is_backordered

    from orders as o
    left join fulfilment as f
        on o.tenant_id = f.tenant_id
        and o.order_id = f.order_id

),

final as (

    select
        *,
        delivered_date <= due_date as is_on_time,
        case
            when delivered_date is null or due_date is null then null
            else coalesce(delivered_date <= due_date and is_in_full, false)
        end as is_perfect_order,
        case when delivered_date is not null then date_diff('day', order_date, delivered_date) end
            as cycle_time_days
    from joined

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
