{#-
    dbt's should_full_refresh(), which both is_incremental() and the
    incremental materialization ask: also true when a mart must be rebuilt in
    full to stay equal to a full refresh (macros/incremental/rebuild.sql). The
    mart is then rebuilt as by --full-refresh, and its pre-hook logs why.
-#}
{% macro should_full_refresh() -%}
    {%- if flags.EMPTY and config.get('bucket_grain') is not none and execute -%}
        {#- `dbt build --empty` never replaces a mart that holds rows (it would
            come out empty): it leaves it, and its build state, as they are. -#}
        {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
        {%- if existing is not none
            and run_query('select exists (select from ' ~ existing ~ ')').columns[0][0] -%}
            {{- return(false) -}}
        {%- endif -%}
    {%- endif -%}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is none -%}
        {%- set configured = flags.FULL_REFRESH -%}
    {%- endif -%}
    {%- if configured -%}
        {{- return(true) -}}
    {%- endif -%}
    {{- return(opsmart_rebuild_reason() is not none) -}}
{%- endmacro %}
