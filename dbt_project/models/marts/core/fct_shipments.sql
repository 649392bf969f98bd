{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and shipment: every contract column plus transit time and punctuality.
with

shipments as (

    select * from {{ ref('stg_erp__shipments') }}

),

final as (

    select
        {{ contract_columns('shipments') }},

        ---------- derived
        date_diff('day', ship_date, delivered_date) as transit_days,
        delivered_date <= promised_date as is_delivered_on_time
    from shipments

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
