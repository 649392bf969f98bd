-- Per order: what its lines and shipments say about fulfilment (one row per tenant + order_id
-- that has lines or shipments). Feeds fct_orders, where OTIF and cycle time are derived.
with

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

shipments as (

    select * from {{ ref('stg_erp__shipments') }}

),

lines_per_order as (

    select
        tenant_id,
        order_id,
        count(*) as line_count,
        sum(quantity_ordered) as quantity_ordered,
        sum(quantity_shipped) as quantity_shipped,
        min(promised_date) as line_promised_date
    from order_lines
    group by tenant_id, order_id

),

shipments_per_order as (

    select
        tenant_id,
        order_id,
        count(*) as shipment_count,
        min(ship_date) as first_ship_date,
        max(ship_date) as last_ship_date,
        -- the order is delivered when every shipment is; its delivery date is the last one
        case when count(delivered_date) = count(*) then max(delivered_date) end as delivered_date,
        bool_or(is_complete) as has_complete_shipment,
        min(promised_date) as shipment_promised_date
    from shipments
    group by tenant_id, order_id

),

joined as (

    select
        coalesce(l.tenant_id, s.tenant_id) as tenant_id,
        coalesce(l.order_id, s.order_id) as order_id,
        l.line_count,
        l.quantity_ordered,
        l.quantity_shipped,
        l.line_promised_date,
        s.shipment_count,
        s.first_ship_date,
        s.last_ship_date,
        s.delivered_date,
        s.has_complete_shipment,
        s.shipment_promised_date
    from lines_per_order as l
    full outer join shipments_per_order as s
        on l.tenant_id = s.tenant_id
        and l.order_id = s.order_id

)

select * from joined
