-- Change tracking for the incremental marts.
--
-- A mart build recomputes exactly the groups whose source rows changed since
-- the snapshot its previous build started from. What changed is recorded in
-- the writing transaction itself, never by a clock, so a transaction that
-- commits while a build runs is picked up by the next build:
--
-- * inserts: every mart source row carries change_xid, the id of the
--   transaction that inserted it (a column default, BRIN-indexed: a build
--   finds the rows its previous snapshot could not see by reading only the
--   newest blocks). Writers cannot set it: they hold no INSERT or UPDATE
--   privilege on that column (repeatable/grants.sql).
-- * updates and deletes: row-level AFTER triggers write the (group, UTC hour)
--   of the old and new rows into ops.mart_change_log, stamped with the
--   transaction id. Row-level triggers of a partitioned table are cloned onto
--   every partition, present and future, and fire for DML aimed at a
--   partition directly as well as through the parent.
-- * truncate, attach, detach: not row changes at all. A build compares the
--   physical identity of each source (its partitions that hold rows, with
--   their relfilenodes) with the one its previous build saw, and rebuilds in
--   full when it differs (macros/incremental). TRUNCATE of a source's parent
--   is refused outright: use delete.
--
-- The functions that write the log run with their owner's rights (SECURITY
-- DEFINER, pinned search_path): no writer needs, or holds, a privilege on the
-- log or the build state.
--
-- Every source is declared once, with ops.track_mart_source(); the dbt side
-- reads the same declarations from ops.mart_source.

create table ops.mart_change_log (
    source varchar(63) not null,
    group_key text[],
    bucket timestamptz not null,
    xid xid8 not null default pg_current_xact_id(),
    logged_at timestamptz not null default now()
);
-- One row per transaction, source, group and hour: a statement that touches a
-- million rows of one organization's hour logs one row.
create unique index unq_mart_change_log_xid_source_bucket_group_key
on ops.mart_change_log (xid, source, bucket, group_key) nulls not distinct;
comment on table ops.mart_change_log is
'(group, UTC hour) touched by updates and deletes of mart sources, stamped with the writing transaction id.';
comment on column ops.mart_change_log.source is 'Logical source (ops.mart_source.source).';
comment on column ops.mart_change_log.group_key is
'The group the changed row counts in: the values, as text, of its mart''s group columns '
'(organization and feature key; a query name); a NULL organization is a group.';
comment on column ops.mart_change_log.bucket is 'Start of the UTC hour the changed row counts in.';

create table ops.mart_build_state (
    target_schema name not null,
    model name not null,
    snapshot pg_snapshot not null,
    built_at timestamptz not null default now(),
    is_full_refresh boolean not null,
    buckets_rebuilt bigint,
    groups_rebuilt bigint,
    code_fingerprint text,
    source_identity jsonb,
    constraint pk_mart_build_state primary key (target_schema, model)
);
comment on table ops.mart_build_state is
'Per mart: the snapshot its last build started from (change log rows visible to it are done), '
'the fingerprint of the code that built it and the physical identity of its sources.';

create table ops.mart_source (
    source varchar(63) not null,
    relation regclass not null,
    time_expression text not null,
    group_expression text not null,
    update_columns name[],
    constraint pk_mart_source primary key (source, relation)
);
comment on table ops.mart_source is
'Declarations of mart sources (ops.track_mart_source): rows of relation count in the UTC hour of '
'time_expression and the group of group_expression, both SQL over the row aliased "row".';

-- TRUNCATE has no rows to log: refused on a source's parent table (delete
-- instead, which is logged). Truncating a partition directly, or attaching and
-- detaching partitions, changes the source's physical identity, which makes
-- the next build rebuild in full.
create function ops.refuse_truncate() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
    raise exception 'truncate of %.% is refused: marts track deletes, use delete', tg_table_schema, tg_table_name
        using errcode = 'feature_not_supported';
end
$$;

-- The tables that hold a source's rows: its leaf partitions, or itself.
create function ops.mart_source_leaves(relation regclass) returns setof regclass
language sql stable
set search_path = pg_catalog
as $$
    select tree.relid from pg_partition_tree(relation) as tree where tree.isleaf
    union all
    select relation where not exists (select from pg_inherits where inhparent = relation)
$$;

-- Installs the TRUNCATE refusal on a table and, when partitioned, on each of
-- its partitions (statement triggers are not cloned onto partitions).
create function ops.refuse_truncate_of(relation regclass) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    part regclass;
begin
    for part in select ops.mart_source_leaves(relation)
    loop
        if not exists (
            select from pg_trigger where tgrelid = part and tgname = 'trg_refuse_truncate'
        ) then
            execute format(
                'create trigger trg_refuse_truncate before truncate on %s '
                'for each statement execute function ops.refuse_truncate()', part);
        end if;
    end loop;
end
$$;

-- An expression of a declaration, with its row alias ("row.") replaced.
create function ops.mart_source_expression(expression text, alias text) returns text
language sql immutable
set search_path = pg_catalog
as $$
    select replace(expression, 'row.', alias || '.')
$$;

-- The statement a change trigger runs for one row image (old or new): log
-- its (group, hour), once per transaction.
create function ops.mart_change_insert(
    source text, group_expression text, time_expression text, from_clause text default ''
) returns text
language sql immutable
set search_path = pg_catalog
as $$
    select format(
        'insert into ops.mart_change_log (source, group_key, bucket) '
        'select distinct %L, (%s)::text[], date_trunc(''hour'', (%s)::timestamptz, ''UTC'') %s '
        '%s (%s) is not null on conflict do nothing;',
        source, group_expression, time_expression, from_clause,
        case when from_clause = '' then 'where' else 'and' end, time_expression)
$$;

-- Declares that rows of `relation` feed the marts of logical source `source`,
-- counting in the UTC hour of `time_expression` and the group of
-- `group_expression` (SQL over the row, written as row.<column>, giving the
-- text[] of its marts' group columns; a scalar subquery may reach a parent
-- row). Installs the change_xid column and its
-- BRIN index, and a row trigger logging updates (of `update_columns`, or of
-- any column when NULL) and deletes. Idempotent.
create function ops.track_mart_source(
    source text,
    relation regclass,
    time_expression text,
    group_expression text,
    update_columns name[] default null
) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    table_name name;
    fn text;
    columns_clause text := '';
begin
    select cls.relname into table_name from pg_class as cls where cls.oid = relation;

    insert into ops.mart_source (source, relation, time_expression, group_expression, update_columns)
    values (source, relation, time_expression, group_expression, update_columns)
    on conflict on constraint pk_mart_source do update set
        time_expression = excluded.time_expression,
        group_expression = excluded.group_expression,
        update_columns = excluded.update_columns;

    if not exists (
        select from pg_attribute
        where attrelid = relation and attname = 'change_xid' and not attisdropped
    ) then
        execute format(
            'alter table %s add column change_xid bigint not null default pg_current_xact_id()::text::bigint',
            relation);
        execute format('comment on column %s.change_xid is %L', relation,
            'Id of the transaction that inserted the row (for incremental marts); writers cannot set it.');
        execute format('create index %I on %s using brin (change_xid)',
            'idx_' || table_name || '_change_xid', relation);
    end if;

    -- One trigger function per (source, table) with static SQL: PL/pgSQL
    -- plans it once per session and table, not per row.
    fn := format('%I.%I', 'ops', 'track_' || source || '__' || table_name);
    execute format(
        'create or replace function %s() returns trigger '
        'language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$ '
        'begin '
        '  %s '
        '  if tg_op = ''UPDATE'' then %s end if; '
        '  return null; '
        'end $fn$',
        fn,
        ops.mart_change_insert(source, ops.mart_source_expression(group_expression, 'old'),
            ops.mart_source_expression(time_expression, 'old')),
        ops.mart_change_insert(source, ops.mart_source_expression(group_expression, 'new'),
            ops.mart_source_expression(time_expression, 'new')));
    execute format('revoke all on function %s() from public', fn);

    if update_columns is not null then
        select ' of ' || string_agg(quote_ident(c), ', ') into columns_clause from unnest(update_columns) as c;
    end if;
    execute format('drop trigger if exists %I on %s', 'trg_' || source || '_mart_change', relation);
    execute format(
        'create trigger %I after update%s or delete on %s for each row execute function %s()',
        'trg_' || source || '_mart_change', columns_clause, relation, fn);

    perform ops.refuse_truncate_of(relation);
end
$$;
comment on function ops.track_mart_source(text, regclass, text, text, name[]) is
'Declares a mart source and installs its change tracking (change_xid, BRIN index, update/delete trigger).';

-- Children whose group comes from a parent row: when the parent is deleted
-- (before its cascade removes them) or the parent columns they depend on
-- change, their (group, hour) are logged under the parent's old (and new)
-- values. Expressions use row.<column> for the child, parent.<column> for the
-- parent; `child_filter` joins the two.
create function ops.track_mart_parent(
    source text,
    parent regclass,
    parent_columns name[],
    child regclass,
    child_filter text,
    time_expression text,
    group_expression text
) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    parent_name name;
    fn text;
    image text;
    inserts text[] := '{}';
begin
    select relname into parent_name from pg_class where oid = parent;
    fn := format('%I.%I', 'ops', 'track_' || source || '__via_' || parent_name);
    foreach image in array array['old', 'new'] loop
        inserts := inserts || ops.mart_change_insert(
            source,
            replace(ops.mart_source_expression(group_expression, 'child'), 'parent.', image || '.'),
            ops.mart_source_expression(time_expression, 'child'),
            format('from %s as child where %s', child,
                replace(ops.mart_source_expression(child_filter, 'child'), 'parent.', image || '.')));
    end loop;
    execute format(
        'create or replace function %s() returns trigger '
        'language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$ '
        'begin '
        '  %s '
        '  if tg_op = ''UPDATE'' then %s return null; end if; '
        '  return old; '
        'end $fn$',
        fn, inserts[1], inserts[2]);
    execute format('revoke all on function %s() from public', fn);

    execute format('drop trigger if exists %I on %s', 'trg_' || source || '_mart_parent_delete', parent);
    execute format(
        'create trigger %I before delete on %s for each row execute function %s()',
        'trg_' || source || '_mart_parent_delete', parent, fn);
    execute format('drop trigger if exists %I on %s', 'trg_' || source || '_mart_parent_update', parent);
    execute format(
        'create trigger %I after update of %s on %s for each row when (%s) execute function %s()',
        'trg_' || source || '_mart_parent_update',
        (select string_agg(quote_ident(c), ', ') from unnest(parent_columns) as c),
        parent,
        (select string_agg(format('old.%1$I is distinct from new.%1$I', c), ' or ') from unnest(parent_columns) as c),
        fn);
end
$$;
comment on function ops.track_mart_parent(text, regclass, name[], regclass, text, text, text) is
'Logs the (group, hour) of a source''s child rows when their parent is deleted or re-keyed.';

-- The physical identity of the given sources: every leaf partition (or the
-- table itself when not partitioned) with its relfilenode, whether it holds
-- rows, and its time range (NULL for a default partition or a plain table).
-- A truncate gives a table a new relfilenode; attach and detach change the set.
create function ops.mart_source_identity(sources text[]) returns jsonb
language plpgsql stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    result jsonb := '{}'::jsonb;
    part record;
    has_rows boolean;
    bounds text[];
begin
    for part in
        select leaf.rel, cls.relfilenode, pg_get_expr(cls.relpartbound, cls.oid) as bound
        from (select distinct src.relation from ops.mart_source as src where src.source = any(sources)) as t
        cross join lateral ops.mart_source_leaves(t.relation) as leaf (rel)
        inner join pg_class as cls on leaf.rel = cls.oid
        order by 1
    loop
        execute format('select exists (select from %s)', part.rel) into has_rows;
        bounds := regexp_match(part.bound, '^FOR VALUES FROM \(''([^'']+)''\) TO \(''([^'']+)''\)$');
        result := result || jsonb_build_object(part.rel::text, jsonb_build_object(
            'relfilenode', part.relfilenode,
            'has_rows', has_rows,
            'lower', bounds[1]::timestamptz,
            'upper', bounds[2]::timestamptz
        ));
    end loop;
    return result;
end
$$;
comment on function ops.mart_source_identity(text[]) is
'Per leaf table of the given sources: relfilenode, whether it holds rows, time range (see ops.mart_source_changes).';

-- The time ranges whose source rows changed physically between two
-- identities (ops.mart_source_identity): a table that held rows then and was
-- since truncated, rewritten or detached, or a table attached since that holds
-- rows now. A range of NULLs means "all time": a default partition or a table
-- that is not partitioned.
create function ops.mart_source_changes(previous jsonb, current_identity jsonb)
returns table (range_start timestamptz, range_end timestamptz)
language sql immutable
set search_path = pg_catalog, pg_temp
as $$
    select
        (coalesce(now_.value, before.value) ->> 'lower')::timestamptz,
        (coalesce(now_.value, before.value) ->> 'upper')::timestamptz
    from jsonb_each(current_identity) as now_
    full outer join jsonb_each(coalesce(previous, '{}'::jsonb)) as before on now_.key = before.key
    where
        (now_.key is null and (before.value ->> 'has_rows')::boolean)
        or (before.key is null and (now_.value ->> 'has_rows')::boolean)
        or (
            now_.value ->> 'relfilenode' <> before.value ->> 'relfilenode'
            and (before.value ->> 'has_rows')::boolean
        )
$$;
comment on function ops.mart_source_changes(jsonb, jsonb) is
'Time ranges changed by truncate, attach, detach or a rewrite between two source identities; NULLs mean all time.';
