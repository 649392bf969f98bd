{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and partner_id: the deduplicated partners master with every contract column.
with

partners as (

    select * from {{ ref('stg_implementation__partners') }}

),

final as (

    select {{ contract_columns('partners') }}
    from partners

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
