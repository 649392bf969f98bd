{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and sku: the deduplicated products master with every contract column.
with

products as (

    select * from {{ ref('stg_erp__products') }}

),

final as (

    select {{ contract_columns('products') }}
    from products

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
