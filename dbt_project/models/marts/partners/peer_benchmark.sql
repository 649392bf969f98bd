-- Where a tenant stands among its peers (tenants of the same industry), per KPI and month:
-- its own value, its percentile (1 = best, direction-aware) and the cohort size. The percentile
-- is withheld (NULL) when fewer than peer_min_cohort_size tenants have a value, and the mart
-- never carries another tenant's value, only the tenant's own and its rank.
-- Rebuilt over all tenants on every run (cross-tenant by nature).
with

kpi_values as (

    select tenant_id, period_start, kpi_name, value
    from {{ ref('fct_kpi_values') }}
    where grain = 'month'
      and is_available
      and value is not null

),

definitions as (

    select kpi_name, higher_is_better from {{ ref('kpi_definitions') }}

),

tenants as (

    select tenant_id, industry from {{ ref('dim_tenants') }}

),

cohort as (

    select
        v.tenant_id,
        t.industry,
        v.period_start,
        v.kpi_name,
        v.value,
        d.higher_is_better,
        count(*) over (partition by t.industry, v.period_start, v.kpi_name) as cohort_size,
        -- 0 = worst .. 1 = best; for "closer to target" KPIs there is no better, so no rank
        case
            when d.higher_is_better then percent_rank() over (
                partition by t.industry, v.period_start, v.kpi_name order by v.value asc)
            when not d.higher_is_better then percent_rank() over (
                partition by t.industry, v.period_start, v.kpi_name order by v.value desc)
        end as raw_percentile
    from kpi_values as v
    inner join tenants as t
        on v.tenant_id = t.tenant_id
    inner join definitions as d
        on v.kpi_name = d.kpi_name

),

final as (

    select
        tenant_id,
        industry,
        'month' as grain,
        period_start,
        kpi_name,
        value as own_value,
        cohort_size,
        cohort_size >= {{ var('peer_min_cohort_size') }} as is_published,
        case when cohort_size >= {{ var('peer_min_cohort_size') }} then raw_percentile end
            as percentile
    from cohort

)

select * from final
