-- Purchasing KPIs per tenant and day: PO acknowledgement within po_ack_sla_days (by PO order
-- day, once the SLA has passed or the PO is acknowledged) and on-time receipt (by receipt day).
with

purchase_orders as (

    select * from {{ ref('fct_purchase_orders') }}
    where {{ tenant_filter() }}
      and coalesce(status, '') <> 'cancelled'

),

acknowledgement as (

    select
        {{ kpi_row('po_acknowledgement_rate', 'order_date',
                   'count(*) filter (where is_acknowledged_on_time)', 'count(*)') }}
    from purchase_orders
    where acknowledged_date is not null
       or order_date + cast({{ var('po_ack_sla_days') }} as integer) < {{ as_of_date() }}
    group by tenant_id, order_date

),

receipt as (

    select
        {{ kpi_row('po_on_time_receipt_rate', 'received_date',
                   'count(*) filter (where is_received_on_time)', 'count(*)') }}
    from purchase_orders
    where received_date is not null
      and expected_date is not null
    group by tenant_id, received_date

)

select * from acknowledgement
union all
select * from receipt
