{#-
    Test hook for fault-injection tests: with var('opsmart_fault_pause') set to
    a number of seconds, every mart sleeps that long after its rows have been
    replaced but before its transaction commits, so a test can kill the build
    (or restart the server) exactly there. A mart that reaches the hook on a
    server started after this dbt command began fails there instead: a restart
    cut the build off, and a mart that dbt's other thread began once the server
    was back (before --fail-fast cancelled it, which dbt does not promise) would
    otherwise sleep and then commit. Renders nothing by default: dbt skips an
    empty hook.
-#}
{% macro opsmart_fault_pause() -%}
    {%- set seconds = var('opsmart_fault_pause', none) -%}
    {%- if seconds is not none -%}
        do $opsmart_fault$
        begin
            if pg_postmaster_start_time() > {{ opsmart_literal(run_started_at.isoformat()) }}::timestamptz then
                raise exception 'opsmart_fault_pause: the server restarted during this build';
            end if;
            perform pg_sleep({{ seconds | float }});
        end
        $opsmart_fault$
    {%- endif -%}
{%- endmacro %}
