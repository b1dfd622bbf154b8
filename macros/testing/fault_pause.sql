{#-
    Test hook for fault-injection tests: with var('opsmart_fault_pause') set to
    a number of seconds, every mart sleeps that long after its rows have been
    replaced but before its transaction commits, so a test can kill the build
    (or restart the server) exactly there. Renders nothing by default: dbt
    skips an empty hook.
-#}
{% macro opsmart_fault_pause() -%}
    {%- set seconds = var('opsmart_fault_pause', none) -%}
    {%- if seconds is not none -%}
        select pg_sleep({{ seconds | float }})
    {%- endif -%}
{%- endmacro %}
