-- Receivables KPIs per tenant and day: DSO (open receivables over invoiced sales, both summed
-- over the days of the period), collections effectiveness (by due day, once due) and dispute
-- rate (by invoice day).
with

invoices as (

    select * from {{ ref('fct_invoices') }}
    where {{ tenant_filter() }}
      and not coalesce(is_void, false)

),

payments as (

    -- only payments applied to a (non-void) invoice reduce receivables
    select p.*
    from {{ ref('fct_payments') }} as p
    inner join invoices as i
        on p.tenant_id = i.tenant_id
        and p.invoice_id = i.invoice_id

),

movements as (

    select tenant_id, invoice_date as date_day, amount as invoiced, 0 as paid from invoices
    union all
    select tenant_id, payment_date as date_day, 0 as invoiced, amount as paid from payments

),

calendar as (

    -- every day from the first invoice to the last movement (capped at as_of_date)
    select
        tenant_id,
        cast(unnest(generate_series(min(date_day), least(max(date_day), {{ as_of_date() }}),
                                    interval 1 day)) as date) as date_day
    from movements
    group by tenant_id

),

per_day as (

    select
        c.tenant_id,
        c.date_day,
        coalesce(sum(m.invoiced), 0) as invoiced,
        coalesce(sum(m.paid), 0) as paid
    from calendar as c
    left join movements as m
        on c.tenant_id = m.tenant_id
        and c.date_day = m.date_day
    group by c.tenant_id, c.date_day

),

receivables as (

    select
        *,
        sum(invoiced - paid) over (
            partition by tenant_id order by date_day rows unbounded preceding
        ) as open_receivables
    from per_day

),

dso as (

    select {{ kpi_row('dso_days', 'date_day', 'open_receivables', 'invoiced') }}
    from receivables

),

collections as (

    select
        {{ kpi_row('collections_effectiveness', 'due_date',
                   'sum(least(paid_by_due_amount, amount))', 'sum(amount)') }}
    from invoices
    where due_date <= {{ as_of_date() }}
    group by tenant_id, due_date

),

disputes as (

    select
        {{ kpi_row('dispute_rate', 'invoice_date',
                   'count(*) filter (where is_dispute)', 'count(*)') }}
    from invoices
    group by tenant_id, invoice_date

)

select * from dso
union all
select * from collections
union all
select * from disputes
