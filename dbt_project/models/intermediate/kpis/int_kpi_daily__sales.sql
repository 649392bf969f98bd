-- CRM KPIs per tenant and day: win rate (by close day) and open pipeline (value open at the end
-- of each day; denominator 1 per day, so a week or month shows the average open pipeline).
with

opportunities as (

    select * from {{ ref('fct_opportunities') }}
    where {{ tenant_filter() }}

),

win_rate as (

    select
        {{ kpi_row('win_rate', 'close_date', 'count(*) filter (where is_won)', 'count(*)') }}
    from opportunities
    where is_closed
      and close_date is not null
    group by tenant_id, close_date

),

pipeline_movements as (

    -- an opportunity enters the pipeline when created and leaves when won or lost
    select tenant_id, created_date as date_day, amount as change
    from opportunities
    where amount is not null
    union all
    select tenant_id, coalesce(close_date, created_date) as date_day, -amount as change
    from opportunities
    where amount is not null
      and is_closed

),

calendar as (

    select
        tenant_id,
        cast(unnest(generate_series(min(date_day), least(max(date_day), {{ as_of_date() }}),
                                    interval 1 day)) as date) as date_day
    from pipeline_movements
    group by tenant_id

),

open_pipeline as (

    select
        c.tenant_id,
        c.date_day,
        sum(coalesce(sum(m.change), 0)) over (
            partition by c.tenant_id order by c.date_day rows unbounded preceding
        ) as open_amount
    from calendar as c
    left join pipeline_movements as m
        on c.tenant_id = m.tenant_id
        and c.date_day = m.date_day
    group by c.tenant_id, c.date_day

)

select * from win_rate
union all
select {{ kpi_row('pipeline_value', 'date_day', 'open_amount', '1') }} from open_pipeline
