{{ config(
    materialized='incremental',
    incremental_strategy='tenant_window',
    on_schema_change='fail',
    meta={'window_column': 'date_day'}
) }}

-- Every KPI's numerator and denominator per tenant and day: the one table week/month values,
-- breakdowns, the semantic layer and peer benchmarks re-aggregate (sums of numerators over sums
-- of denominators, never averages of daily ratios). Only days with activity have rows;
-- fct_kpi_values fills the calendar and marks unavailable KPIs.
with

unioned as (

    {% for name in ['orders', 'fulfilment', 'inventory', 'procurement', 'finance', 'support',
                    'workflow', 'sales', 'implementation'] %}
    select * from {{ ref('int_kpi_daily__' ~ name) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        tenant_id,
        date_day,
        kpi_name,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from unioned
    where date_day is not null
    group by tenant_id, date_day, kpi_name

)

select * from final
{% if is_incremental() %}where {{ scope_predicate('date_day') }}{% endif %}
