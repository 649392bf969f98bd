{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- One row per tenant and payment: every contract column plus the invoice's due date.
with

payments as (

    select * from {{ ref('stg_erp__payments') }}

),

invoices as (

    select tenant_id, invoice_id, customer_id, due_date from {{ ref('stg_erp__invoices') }}

),

final as (

    select
        ---------- contract columns (customer falls back to the invoice's)
        p.tenant_id,
        p.payment_id,
        p.invoice_id,
        coalesce(p.customer_id, i.customer_id) as customer_id,
        p.payment_date,
        p.amount,

        ---------- derived
        i.due_date as invoice_due_date,
        p.payment_date <= i.due_date as is_paid_by_due_date
    from payments as p
    left join invoices as i
        on p.tenant_id = i.tenant_id
        and p.invoice_id = i.invoice_id

)

select * from final
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
