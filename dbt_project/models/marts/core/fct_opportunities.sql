{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and opportunity: every contract column plus outcome flags.
with

opportunities as (

    select * from {{ ref('stg_crm__opportunities') }}

),

final as (

    select
        {{ contract_columns('opportunities') }},

        ---------- derived
        stage = 'won' as is_won,
        stage in ('won', 'lost') as is_closed,
        case when stage in ('won', 'lost') then date_diff('day', created_date, close_date) end
            as days_to_close
    from opportunities

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
