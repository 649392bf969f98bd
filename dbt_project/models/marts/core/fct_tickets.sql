{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'created_date'}
) }}

-- One row per tenant and ticket: every contract column plus response and resolution times and
-- the SLA / first-contact flags. Large: incremental by tenant and created_date.
with

tickets as (

    select * from {{ ref('stg_support__tickets') }}
    {% if is_incremental() %}where {{ tenant_filter() }} and {{ window_filter('cast(created_at as date)') }}{% endif %}

),

final as (

    select
        ---------- contract columns
        {{ contract_columns('tickets') }},

        ---------- derived
        cast(created_at as date) as created_date,
        {{ hours_between('created_at', 'first_response_at') }} as first_response_hours,
        {{ hours_between('created_at', 'resolved_at') }} as resolution_hours,
        resolved_at is not null as is_resolved,
        resolved_at <= sla_due_at as is_sla_met,
        case when resolved_at is not null then contacts_to_resolve <= 1 end
            as is_first_contact_resolution

    from tickets

)

select * from final
