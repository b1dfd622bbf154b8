{#-
    The read side and the swap of the bucket_replace strategy (see
    claim_changes.sql): an incremental build reads only the source rows of
    what changed, through the sources' (group, time) indexes, and replaces
    exactly those mart rows.
-#}

{#- The temp table of the (group, bucket) keys this build recomputes (a subquery in unit tests). -#}
{% macro opsmart_changed_groups() -%}
    opsmart_changed
{%- endmacro %}


{#- The temp table of the buckets this build recomputes for every group. -#}
{% macro opsmart_changed_buckets() -%}
    opsmart_changed_buckets
{%- endmacro %}


{% macro opsmart_bucket_expression(column, grain) -%}
    date_trunc('{{ grain }}', {{ column }}, 'UTC')
{%- endmacro %}


{#-
    The rows of `relation` this build recomputes from: every row when the mart
    builds in full (or under dbt show: the temp tables exist only inside a
    build's transaction; and under --empty, where dbt makes the relation an
    empty subquery); else the rows of each changed (group, bucket) and of each
    bucket changed for every group. The three parts never overlap: a group's
    organization is either a value or NULL, and claim_changes leaves out the
    groups of whole buckets. `groups` is the mart's config group_columns (mart
    column: source column of `relation`); only the first may be NULL.

    Each key reads its own rows: a LATERAL subquery behind an `offset 0`
    fence, so the planner runs one index range scan per key (and prunes the
    partitions it cannot touch at run time). Left to itself it joins the keys
    to a whole-table scan: it costs a parameterized scan of every partition,
    not seeing that run-time pruning leaves one.
-#}
{% macro opsmart_changed_rows(relation, time_column, groups, time_is_date=false) -%}
    {%- set empty = relation.limit is defined and relation.limit == 0 -%}
    {%- if not (is_incremental() and flags.WHICH != 'show') or empty -%}
        select * from {{ relation }}
    {%- elif opsmart_is_citus() -%}
        {{ opsmart_changed_rows_citus(relation, time_column, groups, time_is_date) }}
    {%- else -%}
        {%- if groups -%}
        {%- set first = (groups | list)[0] -%}
        select src.* from {{ opsmart_changed_groups() }} as k
        cross join lateral (
            select * from {{ relation }} as r
            where
                {% for mart_column, source_column in groups.items() -%}
                r.{{ source_column }} = k.{{ mart_column }}
                and {% endfor -%}
                {{ opsmart_in_bucket('r.' ~ time_column, 'k', time_is_date) }}
            offset 0
        ) as src
        union all
        select src.* from {{ opsmart_changed_groups() }} as k
        cross join lateral (
            select * from {{ relation }} as r
            where
                r.{{ groups[first] }} is null
                {% for mart_column, source_column in groups.items() if mart_column != first -%}
                and r.{{ source_column }} = k.{{ mart_column }}
                {% endfor -%}
                and {{ opsmart_in_bucket('r.' ~ time_column, 'k', time_is_date) }}
            offset 0
        ) as src
        where k.{{ first }} is null
        union all
        {% endif -%}
        select src.* from {{ opsmart_changed_buckets() }} as b
        cross join lateral (
            select * from {{ relation }} as r
            where
                {{ opsmart_in_bucket('r.' ~ time_column, 'b', time_is_date) }}
            offset 0
        ) as src
    {%- endif -%}
{%- endmacro %}


{#-
    `column` lies in the bucket [`keys`.bucket_start, `keys`.bucket_end): a
    timestamp as it is, a date (a day bucket's column, e.g. of a mart built
    from a daily mart) as the UTC day the bucket starts, never through the
    session's time zone.
-#}
{% macro opsmart_in_bucket(column, keys, is_date=false) -%}
    {%- if is_date -%}
    {{ column }} >= ({{ keys }}.bucket_start at time zone 'UTC')::date
    and {{ column }} < ({{ keys }}.bucket_end at time zone 'UTC')::date
    {%- else -%}
    {{ column }} >= {{ keys }}.bucket_start
    and {{ column }} < {{ keys }}.bucket_end
    {%- endif -%}
{%- endmacro %}


{#-
    The incremental strategy: the changed groups and buckets get exactly the
    rows recomputed for them. On one server only what differs is written: a
    mart row of a changed group is deleted unless the recomputation gave the
    very same row, and a recomputed row is inserted unless it is still there.
    A late event reopens its organization's whole day, but most of that day's
    rows come out the same; rewriting them cost more than recomputing them
    (feature_daily_users at M, +1% new rows: 396k rows deleted and inserted,
    11 s, for about 10k that changed). One full join of the changed groups'
    mart rows with the recomputed rows finds both kinds of difference, so the
    mart rows are read once, not once per statement. Rows are compared by
    their text form: NULL-safe, the same text only for the same values (two
    equal values spelled differently, 1.5 and 1.50, are just rewritten); a
    recomputed duplicate still fails the grain's unique constraint. On a
    Citus cluster the groups are replaced whole, as before (measured there).
-#}
{% macro get_incremental_bucket_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set names = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set columns = get_quoted_csv(names) -%}
    {%- set bucket_column = adapter.quote(config.require('bucket_column')) -%}
    {%- set grain = config.require('bucket_grain') -%}
    {%- set groups = config.require('group_columns') | list -%}
    {%- set by_difference = not opsmart_is_citus() -%}
    {%- set bucket -%}
        {%- if grain == 'day' -%}
            (changed.bucket_start at time zone 'UTC')::date
        {%- else -%}
            changed.bucket_start
        {%- endif -%}
    {%- endset -%}
    {#- the rows of the changed groups and buckets, as joins of `target` -#}
    {%- set parts = [] -%}
    {%- if groups -%}
        {%- set matches -%}
            {% for column in groups -%}
            target.{{ adapter.quote(column) }} = changed.{{ adapter.quote(column) }}
            and {% endfor -%}
            target.{{ bucket_column }} = {{ bucket }}
        {%- endset -%}
        {%- do parts.append((opsmart_changed_groups(), matches)) -%}
        {%- set matches -%}
            changed.{{ adapter.quote(groups[0]) }} is null
            and target.{{ adapter.quote(groups[0]) }} is null
            {% for column in groups[1:] -%}
            and target.{{ adapter.quote(column) }} = changed.{{ adapter.quote(column) }}
            {% endfor -%}
            and target.{{ bucket_column }} = {{ bucket }}
        {%- endset -%}
        {%- do parts.append((opsmart_changed_groups(), matches)) -%}
    {%- endif -%}
    {%- do parts.append((opsmart_changed_buckets(), 'target.' ~ bucket_column ~ ' = ' ~ bucket)) -%}
    {%- set target_image = opsmart_row_image('target', names) -%}
    {%- set recomputed_image = opsmart_row_image('recomputed', names) -%}

    {% if by_difference -%}
    -- every float's text exact (its shortest form that reads back the same)
    set local extra_float_digits = 1;

    -- One pass over the changed groups' mart rows: those no longer recomputed
    -- (by row id) and the recomputed rows not already there. The two
    -- statements after it then read no mart row again.
    drop table if exists pg_temp.opsmart_difference;
    create temporary table opsmart_difference as
    select
        kept.opsmart_row_id,
        fresh.opsmart_recomputed,
        {% for name in names %}fresh.{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor %}
    from (
        {% for changed, matches in parts -%}
        select target.ctid as opsmart_row_id, {{ target_image }} as opsmart_image
        from {{ target }} as target
        inner join {{ changed }} as changed
            on
                {{ matches }}
        {{- '\n        union all\n        ' if not loop.last }}
        {%- endfor %}
    ) as kept
    full join (
        select
            true as opsmart_recomputed,
            {{ recomputed_image }} as opsmart_image,
            {% for name in names %}recomputed.{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor %}
        from {{ temp }} as recomputed
    ) as fresh on kept.opsmart_image = fresh.opsmart_image
    where kept.opsmart_image is null or fresh.opsmart_recomputed is null;

    -- by row id (a TID scan): this transaction holds the mart, so no row moves
    delete from {{ target }}
    where ctid = any(array(
        select difference.opsmart_row_id from opsmart_difference as difference
        where difference.opsmart_row_id is not null
    ));

    insert into {{ target }} ({{ columns }})
    select {% for name in names %}difference.{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor %}
    from opsmart_difference as difference
    where difference.opsmart_recomputed;

    drop table opsmart_difference
    {%- else -%}
    {% for changed, matches in parts -%}
    delete from {{ target }} as target
    using {{ changed }} as changed
    where
        {{ matches }};

    {% endfor -%}
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }}
    {%- endif %}
{%- endmacro %}


{#- A row's values as one text: NULL-safe, and the same text only for the same values. -#}
{% macro opsmart_row_image(alias, names) -%}
    row({% for name in names %}{{ alias }}.{{ adapter.quote(name) }}{{ ', ' if not loop.last }}{% endfor %})::text
{%- endmacro %}
