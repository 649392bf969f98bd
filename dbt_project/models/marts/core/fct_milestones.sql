{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and milestone: every contract column plus slippage and overdue status.
with

milestones as (

    select * from {{ ref('stg_implementation__milestones') }}

),

final as (

    select
        {{ contract_columns('milestones') }},

        ---------- derived
        -- days late (early counts as 0); null until the milestone is done
        case when actual_date is not null then greatest(date_diff('day', planned_date, actual_date), 0) end
            as slippage_days,
        actual_date is null and coalesce(status, '') not in ('done', 'skipped')
            and planned_date < {{ as_of_date() }} as is_overdue,
        case when actual_date is null and coalesce(status, '') not in ('done', 'skipped')
            then greatest(date_diff('day', planned_date, {{ as_of_date() }}), 0) end as days_overdue
    from milestones

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
