{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant, PO and line: every contract column plus supplier responsiveness and
-- receipt punctuality.
with

purchase_orders as (

    select * from {{ ref('stg_erp__purchase_orders') }}

),

final as (

    select
        {{ contract_columns('purchase_orders') }},

        ---------- derived
        date_diff('day', order_date, acknowledged_date) as days_to_acknowledge,
        acknowledged_date <= order_date + cast({{ var('po_ack_sla_days') }} as integer)
            as is_acknowledged_on_time,
        received_date <= expected_date as is_received_on_time,
        quantity_received >= quantity_ordered as is_received_in_full,
        quantity_ordered * unit_cost as ordered_value
    from purchase_orders

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
