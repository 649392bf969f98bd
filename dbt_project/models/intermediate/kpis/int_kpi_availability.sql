{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- Per tenant and KPI: can the KPI be computed from what the tenant sends? A KPI's `requires`
-- (seeds/kpi_definitions.csv) lists entity.column inputs, space separated, all needed; `a|b`
-- means either. Missing inputs are listed so a dashboard can say why a KPI is not available.
with

definitions as (

    select kpi_name, requires from {{ ref('kpi_definitions') }}

),

coverage as (

    select * from {{ ref('int_tenant_column_coverage') }}

),

tenants as (

    select distinct tenant_id from coverage

),

requirements as (

    select kpi_name, unnest(string_split(requires, ' ')) as requirement
    from definitions

),

alternatives as (

    select kpi_name, requirement, unnest(string_split(requirement, '|')) as alternative
    from requirements

),

requirement_met as (

    select
        t.tenant_id,
        a.kpi_name,
        a.requirement,
        bool_or(coalesce(c.non_null_count, 0) > 0) as is_met
    from tenants as t
    cross join alternatives as a
    left join coverage as c
        on c.tenant_id = t.tenant_id
        and c.entity || '.' || c.column_name = a.alternative
    group by t.tenant_id, a.kpi_name, a.requirement

),

final as (

    select
        tenant_id,
        kpi_name,
        bool_and(is_met) as is_available,
        string_agg(requirement, ' ' order by requirement) filter (where not is_met) as missing_inputs
    from requirement_met
    group by tenant_id, kpi_name

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
