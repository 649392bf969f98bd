{#-
    Tenant- and date-scoped runs.

    The Dagster layer runs `dbt build --vars '{"tenant_id": "acme", "from_date": "2026-11-23"}'`
    (or `"tenant_id": ["acme", "globex"]` for a run over several tenant partitions).
    There is no parameter binding in compiled SQL, so the values are validated here (slug regex,
    ISO date) and only then rendered as SQL literals by `sql_string`.

    Marts that read tenant data are `incremental` with the `tenant_window` strategy: on an
    incremental run they delete the rows in scope (the run's tenants, on/after from_date) and
    insert the freshly computed ones, so a run never touches another tenant's rows and re-running
    a window is idempotent. A run with neither var replaces everything, i.e. equals `--full-refresh`.
-#}

{% macro run_tenant_ids() -%}
    {#- The tenants a run is scoped to: var tenant_id, one id or a list of ids; none = all. -#}
    {%- set tid = var('tenant_id', none) -%}
    {%- set is_list = tid is sequence and tid is not string and tid is not mapping -%}
    {%- if tid is none or tid == '' or (is_list and tid | length == 0) -%}{{ return(none) }}{%- endif -%}
    {%- set ids = tid if is_list else [tid] -%}
    {%- for t in ids -%}
        {%- if t is not string or not modules.re.fullmatch('[a-z0-9][a-z0-9_-]{0,62}', t) -%}
            {{ exceptions.raise_compiler_error(
                "invalid var tenant_id " ~ t ~ ": use 1-63 characters of a-z, 0-9, '_' or '-', "
                ~ "starting with a letter or digit, passed as a string or a list of strings "
                ~ "(--vars '{\"tenant_id\": \"acme\"}' or '{\"tenant_id\": [\"acme\", \"globex\"]}')") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ids | unique | list | sort) }}
{%- endmacro %}


{% macro date_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value == '' -%}{{ return(none) }}{%- endif -%}
    {%- set value = value | string -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error("invalid var " ~ name ~ " " ~ value ~ ": expected YYYY-MM-DD") }}
    {%- endif -%}
    {%- do modules.datetime.date.fromisoformat(value) -%}
    {{ return(value) }}
{%- endmacro %}


{% macro as_of_date() -%}
    {#- The reference day of "is it due yet?" rules: var as_of_date, else today. -#}
    {%- set d = date_var('as_of_date') -%}
    {{ return("date " ~ sql_string(d) if d else "current_date") }}
{%- endmacro %}


{% macro tenant_filter(column='tenant_id') -%}
    {%- set ids = run_tenant_ids() -%}
    {%- if not ids -%}{{ return("true") }}{%- endif -%}
    {%- if ids | length == 1 -%}{{ return(column ~ " = " ~ sql_string(ids[0])) }}{%- endif -%}
    {%- set literals = [] -%}
    {%- for t in ids -%}{%- do literals.append(sql_string(t)) -%}{%- endfor -%}
    {{ return(column ~ " in (" ~ literals | join(", ") ~ ")") }}
{%- endmacro %}


{% macro window_filter(date_column=none, grain_column=none) -%}
    {#- date_column >= from_date; with grain_column, the start of the period containing from_date. -#}
    {%- set d = date_var('from_date') -%}
    {%- if not d or not date_column -%}{{ return("true") }}{%- endif -%}
    {%- if grain_column -%}
        {{ return(date_column ~ " >= cast(date_trunc(" ~ grain_column ~ ", date " ~ sql_string(d) ~ ") as date)") }}
    {%- endif -%}
    {{ return(date_column ~ " >= date " ~ sql_string(d)) }}
{%- endmacro %}


{% macro scope_predicate(date_column=none, grain_column=none) -%}
    {{ return("(" ~ tenant_filter() ~ " and " ~ window_filter(date_column, grain_column) ~ ")") }}
{%- endmacro %}


{% macro assert_run_scope() -%}
    {#- A full refresh rebuilds tables from what the run reads: scoped, it would drop the others. -#}
    {%- if flags.FULL_REFRESH and (run_tenant_ids() or date_var('from_date')) -%}
        {{ exceptions.raise_compiler_error(
            "--full-refresh rebuilds every tenant's rows; run it without the tenant_id/from_date vars") }}
    {%- endif -%}
{%- endmacro %}


{% macro get_incremental_tenant_window_sql(arg_dict) -%}
    {#- Custom strategy `tenant_window`: delete the run's scope, insert the new rows.
        The scope comes from the model's meta `window_column` (+ `window_grain_column`). -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set cols = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set meta = config.get('meta') or {} -%}
    delete from {{ target }}
    where {{ scope_predicate(meta.get('window_column'), meta.get('window_grain_column')) }};
    insert into {{ target }} ({{ cols }})
    select {{ cols }} from {{ source }}
{%- endmacro %}


{% macro relation_has_tenant_column(relation) -%}
    {#- Does the documented model/source behind `relation` carry tenant_id? (graph lookup, no query) -#}
    {%- for node in graph.nodes.values() | list + graph.sources.values() | list -%}
        {%- if (node.alias or node.identifier or node.name) == relation.identifier
              and node.schema == relation.schema and 'tenant_id' in node.columns -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {#- Overrides dbt's: data tests of a tenant-scoped run check that tenant's rows only (the
        others were not touched), so a per-tenant `dbt build` does not re-test every tenant.
        The `to` side of relationships tests stays unfiltered. Honours a test's own `where`. -#}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if run_tenant_ids() and execute and relation_has_tenant_column(relation) -%}
        {%- do conditions.append(tenant_filter()) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
