{#-
    dbt-postgres's create_table_as, with one change for contracted tables:
    unique and primary-key constraints are added after the rows are inserted,
    not before. A full refresh then builds each grain's unique index once from
    a sort instead of maintaining it row by row (metric_timeseries at S: the
    insert took twice as long with the constraint in place). The table that
    comes out is the same: every contract constraint holds, and a duplicate
    fails the build (inside its transaction, before the swap).

    On a Citus cluster a model with config distributed_by is distributed
    right after its table is created, before its rows go in (macros/cluster).
-#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {%- set unlogged = config.get('unlogged', default=false) -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {%- set contract_config = config.get('contract') -%}
    {%- set contracted = contract_config.enforced and not temporary -%}
    {%- set deferred = [] -%}
    {%- set immediate = [] -%}
    {%- if contracted -%}
        {%- for constraint in model['constraints'] -%}
            {%- if constraint['type'] in ('unique', 'primary_key') -%}
                {%- do deferred.append(constraint) -%}
            {%- else -%}
                {%- do immediate.append(constraint) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {{ sql_header if sql_header is not none }}

    create {% if temporary -%}
        temporary
    {%- elif unlogged -%}
        unlogged
    {%- endif %} table {{ relation }}
    {% if contract_config.enforced %}
        {{ get_assert_columns_equivalent(sql) }}
    {% endif -%}
    {% if contracted -%}
        {%- set columns = adapter.render_raw_columns_constraints(raw_columns=model['columns']) -%}
        {%- set constraints = adapter.render_raw_model_constraints(raw_constraints=immediate) -%}
        (
            {{ (columns + constraints) | join(',\n            ') }}
        );
        {{ opsmart_distribute(relation, temporary) }}
        insert into {{ relation }} (
            {{ adapter.dispatch('get_column_names', 'dbt')() }}
        )
        {%- set sql = get_select_subquery(sql) %}
    {% else %}
        as
    {% endif %}
    (
        {{ sql }}
    );
    {%- set distribute = opsmart_distribute(relation, temporary) if not contracted else '' %}
    {%- if distribute %}
    {{ distribute }}
    select truncate_local_data_after_distributing_table({{ opsmart_literal(relation) }});
    {%- endif %}
    {%- for constraint in adapter.render_raw_model_constraints(raw_constraints=deferred) %}
    alter table {{ relation }} add {{ constraint }};
    {%- endfor %}
{%- endmacro %}
