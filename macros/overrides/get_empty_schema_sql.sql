{#-
    dbt's empty-schema query of a contract, without its warning about
    numeric columns of unspecified precision: metric_timeseries keeps sums,
    minima and maxima as unbounded numeric on purpose (exact, whatever the
    scale of the samples), and the warning would fail `dbt --warn-error build`.
    A column without a data_type is still an error.
-#}
{% macro postgres__get_empty_schema_sql(columns) -%}
    {%- set missing = [] -%}
    select
    {% for i in columns %}
        {%- set col = columns[i] -%}
        {%- if col['data_type'] is not defined -%}
            {%- do missing.append(col['name']) -%}
        {%- endif -%}
        {%- set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
        {{ cast('null', col['data_type']) }} as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if missing | length > 0 -%}
        {{ exceptions.column_type_missing(column_names=missing) }}
    {%- endif -%}
{%- endmacro %}
