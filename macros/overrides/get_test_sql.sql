{#-
    dbt's data test query, preceded by the session limits (a data test runs on
    whatever connection dbt hands it, maybe one no model hook has set).
-#}
{% macro postgres__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    {{ opsmart_session_limits() }};
    {{ default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) }}
{%- endmacro %}
