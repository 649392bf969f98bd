{{ config(materialized='incremental', incremental_strategy='tenant_window', on_schema_change='fail') }}

-- Customers of each tenant: the customer master, plus customers known only from their orders
-- (tenants that send order headers without a customer export), with order history facts.
with

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

order_history as (

    select
        tenant_id,
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as lifetime_orders,
        sum(case when status is distinct from 'cancelled' then order_amount end) as lifetime_revenue
    from orders
    group by tenant_id, customer_id

),

joined as (

    select
        ---------- ids
        coalesce(c.tenant_id, h.tenant_id) as tenant_id,
        coalesce(c.customer_id, h.customer_id) as customer_id,

        ---------- contract attributes
        c.customer_name,
        c.segment,
        c.region,
        c.created_date,
        c.status,

        ---------- order history
        h.first_order_date,
        h.last_order_date,
        coalesce(h.lifetime_orders, 0) as lifetime_orders,
        coalesce(h.lifetime_revenue, 0) as lifetime_revenue,
        c.customer_id is not null as is_in_customer_master

    from customers as c
    full outer join order_history as h
        on c.tenant_id = h.tenant_id
        and c.customer_id = h.customer_id

)

select * from joined
{% if is_incremental() %}where {{ scope_predicate() }}{% endif %}
