{#-
    dbt's get_column_schema_from_query (the column names and types a contract
    compares), read from the catalog instead of from psycopg2's type codes:
    dbt-postgres knows no code for uuid and warns on every contracted mart with
    a uuid column, which fails `dbt --warn-error build`. The catalog also gives
    the full type (numeric(16,6), not numeric), so contracts compare precisely.
-#}
{% macro get_column_schema_from_query(select_sql, select_sql_header=none) -%}
    {%- call statement('opsmart_column_probe', fetch_result=True) -%}
        {{ select_sql_header if select_sql_header is not none }}
        drop view if exists pg_temp.opsmart_column_probe;
        create temporary view opsmart_column_probe as {{ get_empty_subquery_sql(select_sql) }};
        select att.attname::text, format_type(att.atttypid, att.atttypmod)
        from pg_catalog.pg_attribute as att
        where att.attrelid = 'pg_temp.opsmart_column_probe'::regclass and att.attnum > 0 and not att.attisdropped
        order by att.attnum
    {%- endcall -%}
    {%- set columns = [] -%}
    {%- for row in load_result('opsmart_column_probe')['data'] -%}
        {%- do columns.append(api.Column.create(row[0], row[1])) -%}
    {%- endfor -%}
    {%- do run_query('drop view if exists pg_temp.opsmart_column_probe') -%}
    {{ return(columns) }}
{%- endmacro %}
