{% macro safe_divide(numerator, denominator) -%}
    case when {{ denominator }} is null or {{ denominator }} = 0 then null
         else cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}


{% macro days_between(start, finish) -%}
    {#- Whole or fractional days from start to finish (timestamps or dates). -#}
    (epoch(cast({{ finish }} as timestamp)) - epoch(cast({{ start }} as timestamp))) / 86400.0
{%- endmacro %}


{% macro hours_between(start, finish) -%}
    (epoch(cast({{ finish }} as timestamp)) - epoch(cast({{ start }} as timestamp))) / 3600.0
{%- endmacro %}


{% macro kpi_row(kpi_name, date_day, numerator, denominator) -%}
    {#- One (tenant, day, kpi) row of a KPI intermediate; the columns every int_kpi_* returns. -#}
    tenant_id,
    cast({{ date_day }} as date) as date_day,
    {{ sql_string(kpi_name) }} as kpi_name,
    cast({{ numerator }} as double) as numerator,
    cast({{ denominator }} as double) as denominator
{%- endmacro %}


{% macro entity_marts() -%}
    {#- Canonical entity -> the mart that holds it (tenant_id + every contract column). -#}
    {{ return({
        'customers': 'dim_customers', 'products': 'dim_products', 'locations': 'dim_locations',
        'orders': 'fct_orders', 'order_lines': 'fct_order_lines', 'shipments': 'fct_shipments',
        'inventory_snapshots': 'fct_inventory_daily', 'purchase_orders': 'fct_purchase_orders',
        'invoices': 'fct_invoices', 'payments': 'fct_payments', 'opportunities': 'fct_opportunities',
        'tickets': 'fct_tickets', 'workflow_runs': 'fct_workflow_runs', 'partners': 'dim_partners',
        'projects': 'fct_projects', 'milestones': 'fct_milestones',
    }) }}
{%- endmacro %}
