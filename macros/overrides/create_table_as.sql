{#-
    dbt-postgres's create_table_as, with two changes for contracted tables.

    On one server, the table is made by `create table as` with every column
    cast to its contract type, and the contract's not-null and check
    constraints are added after, in one ALTER TABLE (one scan checks them
    all). dbt's way, `create table` with the constraints then `insert ...
    select`, can never run in parallel: PostgreSQL plans no parallel workers
    for an INSERT, while CREATE TABLE AS may use them, as the hand-written
    baseline does. Two M runs of the same day, each against its own baseline:
    metric_hourly 1.11x this way, 1.98x dbt's; performance_dashboard 1.52x
    and 2.08x; analysis_daily 1.15x and 1.37x; 7 of 8 marts better.
    A column-level unique, primary or foreign key keeps dbt's way.

    Unique and primary-key constraints are added after the rows are in, not
    before. A full refresh then builds each grain's unique index once from a
    sort instead of maintaining it row by row (metric_timeseries at S: the
    insert took twice as long with the constraint in place).

    Then, on one server, the new table is analyzed: a mart built from
    another in the same build (metric_daily from metric_timeseries) is
    planned with the statistics of what it reads, not the guesses for a
    table never analyzed, and analysts' first queries are too.

    The table that comes out is the same either way: every contract
    constraint holds, and a violation fails the build (inside its
    transaction, before the swap). On a Citus cluster the table is made dbt's
    way and not analyzed here: the parallel plan and the statistics are
    measured on one server only, so the cluster keeps what it was tested with.

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
    {%- set later = [] -%}
    {%- set keyed_columns = [] -%}
    {%- if contracted -%}
        {%- for constraint in model['constraints'] -%}
            {%- if constraint['type'] in ('unique', 'primary_key') -%}
                {%- do deferred.append(constraint) -%}
            {%- else -%}
                {%- do immediate.append(constraint) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for column in model['columns'].values() -%}
            {%- set name = adapter.quote(column['name']) if column.get('quote') else column['name'] -%}
            {%- for constraint in column.get('constraints', []) -%}
                {%- if constraint['type'] == 'not_null' -%}
                    {%- do later.append('alter column ' ~ name ~ ' set not null') -%}
                {%- elif constraint['type'] == 'check' and constraint.get('expression') -%}
                    {%- do later.append('add check (' ~ constraint['expression'] ~ ')') -%}
                {%- else -%}
                    {%- do keyed_columns.append(name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set one_server = not opsmart_is_citus() -%}
    {%- set as_select = contracted and not keyed_columns and one_server -%}

    {{ sql_header if sql_header is not none }}

    create {% if temporary -%}
        temporary
    {%- elif unlogged -%}
        unlogged
    {%- endif %} table {{ relation }}
    {% if contract_config.enforced %}
        {{ get_assert_columns_equivalent(sql) }}
    {% endif -%}
    {% if as_select -%}
    as
    select
        {% for column in model['columns'].values() -%}
        {%- set name = adapter.quote(column['name']) if column.get('quote') else column['name'] -%}
        {{ name }}::{{ column['data_type'] }} as {{ name }}{{ ',' if not loop.last }}
        {% endfor -%}
    from (
        {{ sql }}
    ) as model_subq;
    {%- for constraint in adapter.render_raw_model_constraints(raw_constraints=immediate) %}
    {%- do later.append('add ' ~ constraint) -%}
    {%- endfor %}
    {%- if later %}
    alter table {{ relation }}
        {{ later | join(',\n        ') }};
    {%- endif %}
    {%- elif contracted -%}
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
    (
        {{ sql }}
    );
    {%- else %}
        as
    (
        {{ sql }}
    );
    {%- endif %}
    {%- set distribute = opsmart_distribute(relation, temporary) if not contracted else '' %}
    {%- if distribute %}
    {{ distribute }}
    select truncate_local_data_after_distributing_table({{ opsmart_literal(relation) }});
    {%- endif %}
    {%- for constraint in adapter.render_raw_model_constraints(raw_constraints=deferred) %}
    alter table {{ relation }} add {{ constraint }};
    {%- endfor %}
    {%- if one_server and not temporary %}
    analyze {{ relation }};
    {%- endif %}
{%- endmacro %}
