{#-
    When an incremental build must rebuild a mart in full instead: its rows
    would no longer equal a full refresh otherwise.

      * it has no build state (first build into this schema, a restore that
        dropped the state, a `dbt build --empty`);
      * its code changed since the build that made its rows: its own SQL or
        contract, or that of any model upstream, or of the project macros
        they call (a fingerprint of all of it is kept in the build state);
      * a source lost or gained rows without any row-level change: a default
        partition or an unpartitioned table truncated or rewritten (a
        partition with a time range is recomputed over that range instead).

    should_full_refresh() (macros/overrides) asks this, so dbt's own
    incremental materialization and is_incremental() agree: the mart is
    rebuilt exactly as by --full-refresh, and the reason is logged.
-#}

{#- The fingerprint of everything that decides this model's rows. -#}
{% macro opsmart_code_fingerprint() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set parts = [] -%}
    {%- do opsmart_collect_code(model.unique_id, parts, []) -%}
    {{- return(local_md5(parts | join('\n'))) -}}
{%- endmacro %}


{% macro opsmart_collect_code(unique_id, parts, seen) -%}
    {%- if unique_id in seen -%}{{ return(none) }}{%- endif -%}
    {%- do seen.append(unique_id) -%}
    {%- set node = graph.nodes.get(unique_id) -%}
    {%- if node is none -%}
        {#- a source: its name is all that matters -#}
        {%- do parts.append(unique_id) -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- do columns.append(name ~ ':' ~ (column.data_type or '')) -%}
    {%- endfor -%}
    {%- do parts.append(unique_id ~ ' ' ~ node.checksum.checksum ~ ' ' ~ node.config.materialized
        ~ ' ' ~ (node.config.unique_key | string) ~ ' ' ~ (columns | join(','))) -%}
    {%- for macro_id in node.depends_on.macros | sort -%}
        {%- if macro_id.startswith('macro.' ~ project_name ~ '.') -%}
            {%- do parts.append(macro_id ~ ' ' ~ opsmart_macro_code(macro_id.split('.')[-1])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for upstream in node.depends_on.nodes | sort -%}
        {%- do opsmart_collect_code(upstream, parts, seen) -%}
    {%- endfor -%}
{%- endmacro %}


{#-
    The views upstream of this model in this target that `dbt build --empty`
    built (its views select nothing: "where false limit 0"); none when all is
    well. An incremental build from them would delete the buckets it
    recomputes.
-#}
{% macro opsmart_empty_upstream_views() -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set views = [] -%}
    {%- do opsmart_collect_views(model.unique_id, views, []) -%}
    {%- if views | length == 0 -%}{{ return([]) }}{%- endif -%}
    {%- set query -%}
        select v from unnest({{ opsmart_text_array(views) }}) as v
        where to_regclass(v) is not null
            and pg_get_viewdef(to_regclass(v)) ~* 'where\s+false\s+limit\s+0'
    {%- endset -%}
    {{- return(run_query(query).columns[0].values() | list) -}}
{%- endmacro %}


{% macro opsmart_collect_views(unique_id, views, seen) -%}
    {%- if unique_id in seen -%}{{ return(none) }}{%- endif -%}
    {%- do seen.append(unique_id) -%}
    {%- set node = graph.nodes.get(unique_id) -%}
    {%- if node is none -%}{{ return(none) }}{%- endif -%}
    {%- if node.config.materialized == 'view' and node.relation_name -%}
        {%- do views.append(node.relation_name) -%}
    {%- endif -%}
    {%- for upstream in node.depends_on.nodes -%}
        {%- do opsmart_collect_views(upstream, views, seen) -%}
    {%- endfor -%}
{%- endmacro %}


{#- The source text of a project macro (its template), or its name when dbt does not expose it. -#}
{% macro opsmart_macro_code(name) -%}
    {%- set generator = context.get(name) -%}
    {%- set parsed = generator.macro if generator is not none and generator.macro is defined else none -%}
    {{- return(parsed.macro_sql if parsed is not none else name) -}}
{%- endmacro %}


{#-
    Why this mart must be rebuilt in full now, or none. Asked once per phase of
    the model (compiling its SQL, then running its materialization), which asks
    is_incremental() several times: the answer is kept in the model's context,
    so every question in a phase gets the same answer, and costs one query.
-#}
{% macro opsmart_rebuild_reason() -%}
    {%- if not execute or config.get('bucket_grain') is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set kept = context.get('opsmart_rebuild_reason_of') -%}
    {%- if kept is not none and kept[0] == this | string -%}
        {{- return(kept[1]) -}}
    {%- endif -%}
    {%- set reason = opsmart_rebuild_reason_now() -%}
    {%- do context.update({'opsmart_rebuild_reason_of': [this | string, reason]}) -%}
    {{- return(reason) -}}
{%- endmacro %}


{% macro opsmart_rebuild_reason_now() -%}
    {%- set state = opsmart_ops_relation('mart_build_state') -%}
    {%- set query -%}
        select
            st.code_fingerprint,
            exists (
                select from ops.mart_source_changes(
                    st.source_identity,
                    ops.mart_source_identity({{ opsmart_text_array(config.require('change_sources')) }})
                ) as changed
                where changed.range_start is null
            ) as sources_rewritten
        from {{ state }} as st
        where (st.target_schema, st.model) = ({{ opsmart_state_key() }})
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}
        {{- return('it has no build state in ' ~ this.schema) -}}
    {%- elif rows[0][0] != opsmart_code_fingerprint() -%}
        {{- return('its code, or code upstream of it, changed since its last build') -}}
    {%- elif rows[0][1] -%}
        {{- return('a source table was truncated, rewritten or re-attached') -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}
