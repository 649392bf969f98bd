-- One row per tenant: the configured tenants (tenants/<id>.yml) plus any tenant that has data
-- but no reference row yet (named by its id, industry 'other'), so joins never drop a tenant.
with

configured as (

    select * from {{ ref('stg_reference__tenants') }}

),

with_data as (

    -- every tenant with rows in any entity mart (all tenants: marts are tables)
    {% for model_name in entity_marts().values() %}
    select distinct tenant_id from {{ ref(model_name) }}
    {% if not loop.last %}union{% endif %}
    {% endfor %}

),

final as (

    select
        ---------- ids
        coalesce(c.tenant_id, d.tenant_id) as tenant_id,
        c.partner_id,

        ---------- attributes
        coalesce(c.display_name, d.tenant_id) as display_name,
        c.partner_name,
        coalesce(c.industry, 'other') as industry,
        c.currency,
        c.timezone,
        c.configured_entities,

        ---------- flags
        c.tenant_id is not null as is_configured,
        d.tenant_id is not null as has_data

    from configured as c
    full outer join with_data as d
        on c.tenant_id = d.tenant_id

)

select * from final
