{#-
    Server-side limits of every dbt session, so a stuck lock or a hung
    statement cannot hang the scheduler, and the server abandons the work of a
    build whose process died (client_connection_check_interval). The limits
    and their environment variables are var('session_limits') in
    dbt_project.yml, the one place they are set; `opsmart build` and plain dbt
    get the same. Applied on every connection dbt opens: on-run-start, each
    model's first hook (outside its transaction, so it persists), and each
    data test's SQL (macros/overrides/get_test_sql.sql).
-#}
{% macro opsmart_session_limits() -%}
    {%- set statements = [] -%}
    {%- for setting, spec in var('session_limits').items() -%}
        {%- set value = env_var(spec['env'], spec['default']) | string | trim -%}
        {%- if not modules.re.fullmatch('[0-9]+(\\.[0-9]+)?\\s*(us|ms|s|min|h|d)?', value) -%}
            {{ exceptions.raise_compiler_error(
                "opsmart: " ~ spec['env'] ~ " must be a duration such as 30s or 10min, got '" ~ value ~ "'") }}
        {%- endif -%}
        {%- do statements.append("set " ~ setting ~ " = " ~ opsmart_literal(value)) -%}
    {%- endfor -%}
    {{ statements | join(';\n') }}
{%- endmacro %}


{#-
    on-run-start of every command that writes (run, build, seed, snapshot),
    and the first pre-hook of every model (dbt runs the models even when an
    on-run-start hook fails): refuse a session that is stronger than the
    transformer. A build runs SQL a
    transformer login can plant (a trigger on a mart it owns); run by a
    superuser or the owner of ops, that SQL would run with their rights. See
    ops.build_role_problem() (ops_schema/012_mart_schemas.sql).
-#}
{% macro opsmart_check_build_role() -%}
    {%- if flags.WHICH in ('run', 'build', 'seed', 'snapshot') -%}
    do $opsmart_role$
    declare
        problem text;
    begin
        if to_regprocedure('ops.build_role_problem()') is null then
            raise exception 'opsmart: the ops schema is not bootstrapped here (run opsmart bootstrap)';
        end if;
        problem := ops.build_role_problem();
        if problem is not null then
            raise exception 'opsmart: builds run as a login of opsmart_transformer and nothing more: %', problem
                using errcode = 'insufficient_privilege';
        end if;
    end
    $opsmart_role$
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
