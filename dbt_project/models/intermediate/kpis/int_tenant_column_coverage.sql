-- What each tenant actually sends: per tenant, entity and column, how many rows carry a value
-- ('_rows' = row count). A KPI is available only when all of its inputs are covered
-- (int_kpi_availability), so a tenant that does not send shipments sees OTIF as "not available",
-- not as 0%.
{%- set entity_models = entity_marts() %}

with

{% for entity, model_name in entity_models.items() %}
{{ entity }}_coverage as (

    unpivot (
        select tenant_id, count(*) as _rows, count(columns(* exclude (tenant_id)))
        from {{ ref(model_name) }}
        where {{ tenant_filter() }}
        group by tenant_id
    )
    on columns(* exclude (tenant_id))
    into name column_name value non_null_count

),

{% endfor %}
unioned as (

    {% for entity in entity_models %}
    select tenant_id, '{{ entity }}' as entity, column_name, non_null_count
    from {{ entity }}_coverage
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
