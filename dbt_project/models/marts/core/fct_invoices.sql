{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and invoice: every contract column plus what has been paid, when, and
-- whether it was paid by the due date.
with

invoices as (

    select * from {{ ref('stg_erp__invoices') }}

),

payments as (

    select * from {{ ref('stg_erp__payments') }}

),

payments_per_invoice as (

    select
        p.tenant_id,
        p.invoice_id,
        sum(p.amount) as paid_amount,
        max(p.payment_date) as last_payment_date,
        sum(p.amount) filter (where p.payment_date <= i.due_date) as paid_by_due_amount
    from payments as p
    inner join invoices as i
        on p.tenant_id = i.tenant_id
        and p.invoice_id = i.invoice_id
    group by p.tenant_id, p.invoice_id

),

final as (

    select
        ---------- contract columns
        {{ contract_columns('invoices', 'i') }},

        ---------- payments
        coalesce(p.paid_amount, 0) as paid_amount,
        p.last_payment_date,
        coalesce(p.paid_by_due_amount, 0) as paid_by_due_amount,
        i.amount - coalesce(p.paid_amount, 0) as open_amount,

        ---------- flags
        coalesce(i.is_disputed, i.status = 'disputed') as is_dispute,
        i.status = 'void' as is_void

    from invoices as i
    left join payments_per_invoice as p
        on i.tenant_id = p.tenant_id
        and i.invoice_id = p.invoice_id

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
