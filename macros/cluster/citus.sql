{#-
    The marts on a Citus cluster (docs/scale-out.md). Nothing here changes
    what a single server runs: every macro asks opsmart_is_citus() first.

    A model says how it is distributed in its config, dbt style:
    distributed_by='organization_id' (a column: hash-distributed by it and
    co-located with config colocate_with, default the ops tables distributed
    by the same type) or 'reference' (a copy on every node, for small
    dimensions and the seeds). A model without it stays a plain table of the
    coordinator.
-#}

{#- Whether the target database runs Citus (its extension exists). -#}
{% macro opsmart_is_citus() -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query("select exists (select from pg_extension where extname = 'citus')") -%}
    {{- return(found.columns[0][0]) -}}
{%- endmacro %}


{#- The ops table a mart distributed by `column` is co-located with, by default. -#}
{% macro opsmart_colocation_default(column) -%}
    {%- if column == 'organization_id' -%}
        {{- return('ops.event') -}}
    {%- endif -%}
    {{- return('default') -}}
{%- endmacro %}


{#-
    The statement that distributes `relation` as its model's config says,
    right after the table is created and before any row goes in (so the
    insert of a full build runs on the workers, shard by shard); nothing on a
    single server, for a temporary table, or for a model without the config.
-#}
{% macro opsmart_distribute(relation, temporary=false) -%}
    {%- set how = config.get('distributed_by') -%}
    {%- if temporary or how is none or not opsmart_is_citus() -%}{{ return('') }}{%- endif -%}
    {%- if how == 'reference' -%}
        select create_reference_table({{ opsmart_literal(relation) }});
    {%- else -%}
        select create_distributed_table(
            {{ opsmart_literal(relation) }}, {{ opsmart_literal(how) }},
            colocate_with => {{ opsmart_literal(config.get('colocate_with', opsmart_colocation_default(how))) }}
        );
    {%- endif -%}
{%- endmacro %}


{#-
    Post-hook of seeds: the same distribution, for a table dbt made without
    create_table_as (a seed's table is made once and refilled).
-#}
{% macro opsmart_distribute_existing() -%}
    {%- set statement = opsmart_distribute(this) -%}
    {%- if statement == '' -%}
    select 1
    {%- else -%}
    do $opsmart_distribute$
    begin
        if not exists (select from pg_dist_partition where logicalrelid = {{ opsmart_literal(this) }}::regclass) then
            perform {{ statement | trim | replace('select ', '', 1) | replace(';', '') }};
        end if;
    end
    $opsmart_distribute$
    {%- endif -%}
{%- endmacro %}


{#-
    The rows of `relation` an incremental build recomputes from, on a
    cluster: joins of the source with the changed keys instead of one fenced
    LATERAL probe per key (opsmart_changed_rows), which Citus cannot run on
    the workers. The keys go to every worker as an intermediate result and
    each shard joins its own rows, so the mart's aggregation still runs where
    the rows are. The NULL-group part of the one-server form has no
    counterpart: a cluster's group columns are never NULL (anonymous rows
    belong to the anonymous organization; query names are required).
-#}
{% macro opsmart_changed_rows_citus(relation, time_column, groups, time_is_date=false) -%}
    {%- if groups -%}
    select r.* from {{ relation }} as r
    inner join {{ opsmart_changed_groups() }} as k
        on
            {% for mart_column, source_column in groups.items() -%}
            r.{{ source_column }} = k.{{ mart_column }}
            and {% endfor -%}
            {{ opsmart_in_bucket('r.' ~ time_column, 'k', time_is_date) }}
    union all
    {% endif -%}
    select r.* from {{ relation }} as r
    inner join {{ opsmart_changed_buckets() }} as b
        on
            {{ opsmart_in_bucket('r.' ~ time_column, 'b', time_is_date) }}
{%- endmacro %}


{#-
    A mart built from another mart (config snapshot_from) on a cluster also
    waits for that mart's running build to end: its commit reaches the
    workers one after another (two-phase commit, after the coordinator's own
    commit), and reading the upstream rows while a worker has not committed
    yet would miss changes the upstream's build state already claims. The
    transaction lock is released only after every worker has committed.
-#}
{% macro opsmart_upstream_lock(upstream) -%}
    select pg_advisory_xact_lock(hashtextextended({{ opsmart_literal('opsmart.mart:' ~ this.schema ~ '.' ~ upstream) }}, 0))
{%- endmacro %}


{#- This mart's cut of its previous build on a cluster (per-worker snapshots), or NULL. -#}
{% macro opsmart_previous_cut() -%}
    (
        select st.node_snapshots from {{ opsmart_ops_relation('mart_build_state') }} as st
        where (st.target_schema, st.model) = ({{ opsmart_state_key() }})
    )
{%- endmacro %}
