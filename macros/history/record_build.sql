{#-
    on-run-end: records this dbt invocation in ops.build_run, ops.build_node
    and (for source freshness) ops.build_freshness, for opsmart build and plain
    dbt alike, as dbt_artifacts does for dbt Cloud. A mart's row carries what
    its build rebuilt (ops.mart_build_state). Does nothing on a database
    without the history tables (an older ops schema).
-#}
{% macro opsmart_record_build(results) -%}
    {%- if not execute or results is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set failed = ['error', 'fail', 'runtime error'] -%}
    {%- set statuses = results | map(attribute='status') | map('string') | list -%}
    {%- set errors = statuses | select('in', failed) | list | length -%}
    {%- set warnings = statuses | select('equalto', 'warn') | list | length -%}
    {%- set run = opsmart_ops_relation('build_run') -%}
    do $opsmart_history$
    begin
        if to_regclass({{ opsmart_literal(run) }}) is null then
            return;
        end if;
        insert into {{ run }}
            (invocation_id, command, target_schema, started_at, status, dbt_version, nodes, errors, warnings)
        values (
            {{ opsmart_literal(invocation_id) }},
            {{ opsmart_literal(flags.WHICH) }},
            {{ opsmart_literal(target.schema) }},
            {{ opsmart_literal(run_started_at.isoformat()) }}::timestamptz,
            {{ opsmart_literal('error' if errors > 0 else 'success') }},
            {{ opsmart_literal(dbt_version) }},
            {{ results | length }},
            {{ errors }},
            {{ warnings }}
        );
        {%- set nodes = results | rejectattr('node.resource_type', 'equalto', 'source') | list %}
        {%- if nodes %}
        insert into {{ opsmart_ops_relation('build_node') }} (
            invocation_id, unique_id, name, resource_type, status, started_at, completed_at,
            execution_seconds, rows_affected, failures, message, is_full_refresh, buckets_rebuilt, groups_rebuilt
        )
        select
            {{ opsmart_literal(invocation_id) }}::uuid, v.unique_id, v.name, v.resource_type, v.status,
            v.started_at, v.completed_at, v.execution_seconds, v.rows_affected, v.failures, v.message,
            st.is_full_refresh, st.buckets_rebuilt, st.groups_rebuilt
        from (values
            {%- for result in nodes %}
            {%- set execute_timing = result.timing | selectattr('name', 'equalto', 'execute') | list %}
            (
                {{ opsmart_literal(result.node.unique_id) }},
                {{ opsmart_literal(result.node.name) }},
                {{ opsmart_literal(result.node.resource_type) }},
                {{ opsmart_literal(result.status) }},
                {% if execute_timing and execute_timing[0].started_at -%}
                {{ opsmart_literal(execute_timing[0].started_at.isoformat()) }}::timestamp at time zone 'UTC',
                {{ opsmart_literal(execute_timing[0].completed_at.isoformat()) }}::timestamp at time zone 'UTC',
                {%- else -%}
                null::timestamptz, null::timestamptz,
                {%- endif %}
                {{ result.execution_time or 0 }}::double precision,
                {{ (result.adapter_response or {}).get('rows_affected', none) | replace('None', 'null') }}::bigint,
                {{ result.failures if result.failures is not none else 'null' }}::bigint,
                {{ opsmart_literal(result.message) if result.message else 'null' }}::text
            ){{ "," if not loop.last }}
            {%- endfor %}
        ) as v (
            unique_id, name, resource_type, status, started_at, completed_at, execution_seconds, rows_affected,
            failures, message
        )
        left join {{ opsmart_ops_relation('mart_build_state') }} as st
            on
                v.resource_type = 'model'
                and v.status = 'success'
                and st.target_schema = {{ opsmart_literal(target.schema) }}
                and st.model = v.name;
        {%- endif %}
        {%- set sources = results | selectattr('node.resource_type', 'equalto', 'source') | list %}
        {%- if sources %}
        insert into {{ opsmart_ops_relation('build_freshness') }}
            (invocation_id, source_name, table_name, status, max_loaded_at, snapshotted_at, age_seconds)
        values
            {%- for result in sources %}
            (
                {{ opsmart_literal(invocation_id) }}::uuid,
                {{ opsmart_literal(result.node.source_name) }},
                {{ opsmart_literal(result.node.name) }},
                {{ opsmart_literal(result.status) }},
                {% if result.max_loaded_at is defined and result.max_loaded_at -%}
                {{ opsmart_literal(result.max_loaded_at.isoformat()) }}::timestamptz,
                {{ opsmart_literal(result.snapshotted_at.isoformat()) }}::timestamptz,
                {{ result.age }}::double precision
                {%- else -%}
                null, null, null
                {%- endif %}
            ){{ "," if not loop.last }}
            {%- endfor %};
        {%- endif %}
    end
    $opsmart_history$
{%- endmacro %}
