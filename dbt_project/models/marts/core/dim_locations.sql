{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and location_id: the deduplicated locations master with every contract column.
with

locations as (

    select * from {{ ref('stg_erp__locations') }}

),

final as (

    select {{ contract_columns('locations') }}
    from locations

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
