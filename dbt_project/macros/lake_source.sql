{#-
    The lake as dbt sources.

    dbt-duckdb reads Parquet in place, so the `lake` sources (models/staging/__sources.yml,
    generated from tenantlake/contracts.py) are views in schema `lake` of the warehouse that
    `create_lake_sources()` (re)creates at the start of every run. Each view is `lake_source(entity)`:

      * read_parquet over lake/raw/<entity>/tenant=*/**/*.parquet (or tenant=<id> when the run is
        scoped to one tenant: the path itself prunes the other tenants' files; scoped to several,
        a filter on tenant_id), every column cast
        to the contract type;
      * or, when no file exists yet for the entity (a tenant set that does not send it), an empty
        relation with the same typed columns, so every downstream model still builds and the KPIs
        that need the entity show as "not available" instead of failing.

    Staging models select from `source('lake', entity)`, which keeps source tests, lineage and
    unit-test fixtures working the normal dbt way.
-#}

{% macro lake_root() -%}
    {%- set root = env_var('TENANTLAKE_LAKE', '') -%}
    {#- parsing (e.g. dagster-dbt preparing the manifest) needs no lake; running does -#}
    {%- if not root and not execute -%}{{ return('<TENANTLAKE_LAKE>') }}{%- endif -%}
    {%- if not root -%}
        {{ exceptions.raise_compiler_error(
            "TENANTLAKE_LAKE is not set: point it at the lake root (<home>/lake), "
            ~ "e.g. TENANTLAKE_LAKE=$HOME/.tenantlake/lake") }}
    {%- endif -%}
    {{ return(root.rstrip('/')) }}
{%- endmacro %}


{% macro sql_string(value) -%}
    {#- A SQL string literal; the only way a Python/Jinja string enters generated SQL. -#}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{%- endmacro %}


{% macro lake_entity_columns(entity) -%}
    {#- [(name, sql type)] of a landed file: lineage columns + the source's declared columns. -#}
    {%- set cols = [('tenant_id', 'varchar'), ('_batch_id', 'varchar'), ('_source_file', 'varchar'),
                    ('_source_row', 'bigint'), ('_ingested_at', 'timestamp')] -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'lake')
                   | selectattr('name', 'equalto', entity) | first -%}
    {%- if node is not defined or node is none -%}
        {{ exceptions.raise_compiler_error("no lake source named " ~ entity ~ " in __sources.yml") }}
    {%- endif -%}
    {%- for name, col in node.columns.items() if name != 'tenant_id' -%}
        {%- do cols.append((name, col.data_type)) -%}
    {%- endfor -%}
    {{ return(cols) }}
{%- endmacro %}


{% macro lake_glob(layer, dataset) -%}
    {%- if not modules.re.fullmatch('[a-z0-9][a-z0-9_]{0,62}', dataset) -%}
        {{ exceptions.raise_compiler_error("invalid lake dataset name " ~ dataset) }}
    {%- endif -%}
    {#- one tenant: the path prunes the others' files; several: all files, filtered by tenant_id -#}
    {%- set ids = run_tenant_ids() or [] -%}
    {%- set part = ids[0] if ids | length == 1 else '*' -%}
    {{ return(lake_root() ~ '/' ~ layer ~ '/' ~ dataset ~ '/tenant=' ~ part ~ '/**/*.parquet') }}
{%- endmacro %}


{% macro glob_has_files(pattern) -%}
    {#- Evaluated when the run executes (not at parse time), against the files present now. -#}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set result = run_query("select count(*) from glob(" ~ sql_string(pattern) ~ ")") -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}


{% macro typed_empty_relation(columns) -%}
    (select
    {%- for name, type in columns %}
        cast(null as {{ type }}) as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
    {%- endfor %}
    where false)
{%- endmacro %}


{% macro read_lake_parquet(pattern, columns, tenant_column='tenant_id') -%}
    {#- read_parquet over `pattern` cast to `columns`, or the typed empty relation. -#}
    {%- if glob_has_files(pattern) -%}
    (select
    {%- for name, type in columns %}
        cast({{ adapter.quote(name) }} as {{ type }}) as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
    {%- endfor %}
    from read_parquet({{ sql_string(pattern) }}, union_by_name = true, hive_partitioning = false)
    {%- if run_tenant_ids() and tenant_column %}
    where {{ tenant_filter(tenant_column) }}
    {%- endif %})
    {%- else -%}
    {{ typed_empty_relation(columns) }}
    {%- endif -%}
{%- endmacro %}


{% macro lake_source(entity) -%}
    {{ return(read_lake_parquet(lake_glob('raw', entity), lake_entity_columns(entity))) }}
{%- endmacro %}


{% macro create_lake_sources() -%}
    {#- on-run-start: one view per `lake` source. Returns no SQL of its own. -#}
    {%- if execute -%}
        {%- do assert_run_scope() -%}
        {%- do run_query("create schema if not exists " ~ adapter.quote(target.database) ~ ".lake") -%}
        {%- for node in graph.sources.values() if node.source_name == 'lake' -%}
            {%- set rel = api.Relation.create(database=node.database, schema=node.schema,
                                              identifier=node.identifier) -%}
            {%- do run_query("create or replace view " ~ rel ~ " as select * from "
                             ~ lake_source(node.name)) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{% macro contract_columns(entity, relation_alias=none) -%}
    {#- tenant_id + every canonical column of `entity`, in contract order (marts expose them all). -#}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    {#- the graph (source columns) exists only when executing; parsing needs no column list -#}
    {%- if not execute -%}{{ return(prefix ~ '*') }}{%- endif -%}
    {%- set names = ['tenant_id'] -%}
    {%- for name, type in lake_entity_columns(entity) if not name.startswith('_') and name != 'tenant_id' -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {%- for name in names %}
        {{ prefix }}{{ name }}{{ ',' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
