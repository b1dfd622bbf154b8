{#- The filter and the swap of the bucket_replace strategy (see claim_changes.sql). -#}

{#- The temp table of the buckets this build recomputes (overridden in unit tests by an aliased subquery) -#}
{% macro opsmart_changed_buckets() -%}
    opsmart_changed
{%- endmacro %}


{% macro opsmart_bucket_expression(column, grain) -%}
    date_trunc('{{ grain }}', {{ column }}, 'UTC')
{%- endmacro %}


{#-
    The span of the changed buckets, published by the pre-hook as transaction
    settings: current_setting() is stable, so the planner estimates the range
    predicates below from the real bounds (and prunes partitions) instead of
    guessing, and picks index probes when few buckets changed.
-#}
{% macro opsmart_changed_from() -%}
    current_setting('opsmart.changed_from')::timestamptz
{%- endmacro %}


{% macro opsmart_changed_to() -%}
    current_setting('opsmart.changed_to')::timestamptz
{%- endmacro %}


{#-
    Filter for a source's time column: only rows in changed buckets when the
    mart builds incrementally. `dbt show` gets the full logic: the temp table
    exists only inside a build's transaction.
-#}
{% macro opsmart_only_changed(column, grain) -%}
    {%- if is_incremental() and flags.WHICH != 'show' -%}
        {{ column }} >= {{ opsmart_changed_from() }}
        and {{ column }} < {{ opsmart_changed_to() }}
        and {{ opsmart_bucket_expression(column, grain) }} in (select bucket_start from {{ opsmart_changed_buckets() }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- The incremental strategy: replace the changed buckets wholesale. -#}
{% macro get_incremental_bucket_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set bucket_column = adapter.quote(config.require('bucket_column')) -%}
    {%- set grain = config.require('bucket_grain') -%}
    delete from {{ target }} as target
    using {{ opsmart_changed_buckets() }} as changed
    where target.{{ bucket_column }} = {% if grain == 'day' -%}
        (changed.bucket_start at time zone 'UTC')::date
    {%- else -%}
        changed.bucket_start
    {%- endif %};

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }}
{%- endmacro %}
