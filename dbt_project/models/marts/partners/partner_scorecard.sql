-- One row per tenant and implementation partner: how that partner's projects go at that tenant
-- (go-live on time, milestone slippage, post-go-live ticket load, projects at risk). Partners are
-- the projects' partner_id, else the partner managing the tenant.
-- Grain is (tenant_id, partner_id), with additive counts next to the rates, so that the serving
-- layer stays per tenant (tenant isolation) and a partner manager's dashboard sums the counts over
-- exactly the tenants that user may see, never over tenants outside their scope.
with

projects as (

    select * from {{ ref('fct_projects') }}

),

milestones as (

    select * from {{ ref('fct_milestones') }}
    where actual_date is not null

),

tenants as (

    select * from {{ ref('dim_tenants') }}

),

partners as (

    select tenant_id, partner_id, partner_name from {{ ref('dim_partners') }}

),

projects_by_partner as (

    select
        p.*,
        coalesce(p.partner_id, t.partner_id, 'unknown') as scorecard_partner_id,
        coalesce(dp.partner_name, case when p.partner_id is null then t.partner_name end)
            as scorecard_partner_name
    from projects as p
    left join tenants as t
        on p.tenant_id = t.tenant_id
    left join partners as dp
        on p.tenant_id = dp.tenant_id
        and p.partner_id = dp.partner_id

),

slippage as (

    select
        p.tenant_id,
        p.scorecard_partner_id,
        sum(m.slippage_days) as slippage_days,
        count(*) as milestones_done
    from milestones as m
    inner join projects_by_partner as p
        on m.tenant_id = p.tenant_id
        and m.project_id = p.project_id
    group by p.tenant_id, p.scorecard_partner_id

),

per_partner as (

    select
        tenant_id,
        scorecard_partner_id as partner_id,
        any_value(scorecard_partner_name) as partner_name,
        count(*) as projects,
        count(*) filter (where is_live) as projects_live,
        count(*) filter (where is_on_time_go_live) as projects_live_on_time,
        count(*) filter (where status not in ('live', 'cancelled')) as projects_open,
        count(*) filter (where is_at_risk) as projects_at_risk,
        sum(post_go_live_tickets) filter (where is_live) as post_go_live_tickets,
        sum(go_live_delay_days) filter (where is_live) as go_live_delay_days_total,
        avg(go_live_delay_days) filter (where is_live) as avg_go_live_delay_days
    from projects_by_partner
    group by tenant_id, scorecard_partner_id

),

final as (

    select
        ---------- grain
        p.tenant_id,
        p.partner_id,
        p.partner_name,

        ---------- projects
        p.projects,
        p.projects_live,
        p.projects_open,
        p.projects_at_risk,
        p.projects_live_on_time,
        coalesce(s.slippage_days, 0) as slippage_days_total,
        coalesce(s.milestones_done, 0) as milestones_done,
        coalesce(p.post_go_live_tickets, 0) as post_go_live_tickets,
        {{ safe_divide('p.projects_at_risk', 'p.projects_open') }} as at_risk_share,

        ---------- KPIs (formulas as in seeds/kpi_definitions.csv, over the partner's projects)
        {{ safe_divide('p.projects_live_on_time', 'p.projects_live') }} as go_live_on_time_rate,
        {{ safe_divide('s.slippage_days', 's.milestones_done') }} as milestone_slippage_days,
        -- tickets in the hypercare window per live project
        {{ safe_divide('p.post_go_live_tickets', 'p.projects_live') }} as post_go_live_tickets_per_project,
        p.avg_go_live_delay_days

    from per_partner as p
    left join slippage as s
        on p.tenant_id = s.tenant_id
        and p.partner_id = s.scorecard_partner_id

)

select * from final
