-- Change tracking on a Citus cluster: every worker stamps and logs the
-- changes of the shards it holds with its own transaction ids, and a build's
-- cut is one snapshot per worker node (docs/scale-out.md, "Exact incremental
-- builds on a cluster").
--
-- On one server (002, 015) a build reads what changed since the snapshot its
-- previous build started from. A cluster has no snapshot spanning nodes, and
-- each node numbers its own transactions; a column default is evaluated on
-- the coordinator for INSERT ... VALUES and COPY but on the worker for a
-- pushed-down INSERT ... SELECT. So:
--
-- * every source shard has a BEFORE row trigger (015's replica form): it
--   stamps change_xid of an inserted or updated row with the transaction id
--   of the worker that writes it, whatever the path, and logs the (group,
--   UTC hour) of a deleted or re-keyed row's old image into that worker's
--   own ops.mart_change_log, a plain table of the worker, in the writing
--   transaction;
-- * a build asks every worker (ops.cluster_claim, through
--   run_command_on_workers), before it reads any source row, for that
--   worker's current snapshot and for the keys of its rows and log entries
--   that snapshot sees and the worker's entry of the previous build's cut
--   did not: the build's cut is that vector of snapshots, kept in
--   ops.mart_build_state.node_snapshots;
-- * it then recomputes those groups from all of their rows, in later
--   statements, which on every worker see at least what that worker's
--   snapshot saw. A change committed meanwhile is either seen by the cut or
--   left for the next build; a group recomputed twice is harmless.
--
-- What it relies on: a row's change_xid and log entry are compared only with
-- snapshots of the node that stamped them. A shard that moves to another node
-- keeps its old node's ids, so a placement change makes every mart reading
-- that source rebuild in full (ops.mart_source_identity below).

-- The change log of every worker: 002's table, a plain table of the node.
create or replace function ops.cluster_install_nodes() returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    answer record;
    nodes integer := 0;
begin
    for answer in
        select * from run_command_on_workers($node$
            create table if not exists ops.mart_change_log (
                source varchar(63) not null,
                group_key text[],
                bucket timestamptz not null,
                xid xid8 not null default pg_current_xact_id(),
                logged_at timestamptz not null default now()
            );
            create unique index if not exists unq_mart_change_log_xid_source_bucket_group_key
            on ops.mart_change_log (xid, source, bucket, group_key) nulls not distinct;
            revoke all on ops.mart_change_log from public;
            select 'ok'
        $node$)
    loop
        if not answer.success then
            raise exception 'opsmart: cannot install the change log on worker %:%: %',
                answer.nodename, answer.nodeport, answer.result;
        end if;
        nodes := nodes + 1;
    end loop;
    return nodes;
end
$$;

-- A statement run on a shard, with every distributed table it names replaced
-- by that table's shard of the same hash range on the same node (a parent
-- row's time: ops.analysis_run): a query on a shard may not start a
-- distributed query, and the co-located shard holds the row it needs.
create or replace function ops.cluster_shard_sql(statement text, shard_id bigint) returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    sibling record;
begin
    for sibling in
        select other.logicalrelid::regclass::text as relation, shard_name(other.logicalrelid, other.shardid) as name
        from pg_dist_shard as mine
        inner join pg_dist_partition as mine_table on mine.logicalrelid = mine_table.logicalrelid
        inner join pg_dist_partition as other_table on mine_table.colocationid = other_table.colocationid
        inner join pg_dist_shard as other
            on other_table.logicalrelid = other.logicalrelid and mine.shardminvalue = other.shardminvalue
        where mine.shardid = shard_id
        order by length(other.logicalrelid::regclass::text) desc
    loop
        statement := regexp_replace(
            statement, '\m' || replace(sibling.relation, '.', '\.') || '\M', sibling.name, 'g'
        );
    end loop;
    return statement;
end
$$;

-- The shard id of a shard's table name (its _<shardid> suffix).
create or replace function ops.cluster_shard_id(shard_table name) returns bigint
language sql immutable
set search_path = pg_catalog
as $$
    select substring(shard_table from '_(\d+)$')::bigint
$$;

-- Installs the cluster's tracking of one declared source (ops.mart_source)
-- on its distributed table: 015's replica trigger, whose log insert names
-- the co-located shards when the declaration reads another table.
-- Idempotent.
create or replace function ops.cluster_track_source(p_source text, p_relation regclass) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    decl ops.mart_source;
    table_name name;
    fn text;
    trigger_name text := 'trg_' || p_source || '_mart_change';
    changed text := 'true';
    old_insert text;
begin
    select * into strict decl from ops.mart_source as ms where ms.source = p_source and ms.relation = p_relation;
    select cls.relname into table_name from pg_class as cls where cls.oid = p_relation;
    fn := format('%I.%I', 'ops', 'track_' || p_source || '__' || table_name);
    old_insert := ops.mart_change_insert(p_source, ops.mart_source_expression(decl.group_expression, 'old'),
        ops.mart_source_expression(decl.time_expression, 'old'));
    if (decl.time_expression || decl.group_expression) ~ '\mops\.' then
        -- the co-located shard, found where the trigger runs
        old_insert := format(
            'execute ops.cluster_shard_sql(%L, ops.cluster_shard_id(tg_table_name)) using old;',
            replace(old_insert, 'old.', '($1).'));
    end if;
    if decl.update_columns is not null then
        select format('row(%s) is distinct from row(%s)',
            string_agg('old.' || quote_ident(c), ', '), string_agg('new.' || quote_ident(c), ', '))
        into changed
        from unnest(decl.update_columns) as c;
    end if;
    execute format('drop trigger if exists %I on %s', trigger_name, p_relation);
    execute format(
        'create or replace function %s() returns trigger '
        'language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$ '
        'begin '
        '  if tg_op = ''DELETE'' then %s return old; end if; '
        '  if tg_op = ''UPDATE'' then '
        '    if not (%s) then return new; end if; '
        '    %s '
        '  end if; '
        '  new.change_xid := pg_current_xact_id()::text::bigint; '
        '  return new; '
        'end $fn$',
        fn, old_insert, changed, old_insert);
    execute format('revoke all on function %s() from public', fn);
    execute format(
        'create trigger %I before insert or update or delete on %s for each row execute function %s()',
        trigger_name, p_relation, fn);
end
$$;

-- A parent (a reference table) whose change moves its children to another
-- group: the cluster's form of ops.track_mart_parent (002). Its triggers run
-- on every node's copy of the parent; each logs the groups of the children
-- in that node's own shards of the child table.
create or replace function ops.cluster_track_parent(
    source text, parent regclass, parent_columns name[], child regclass, child_filter text,
    time_expression text, group_expression text
) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    parent_name name := (select cls.relname from pg_class as cls where cls.oid = parent);
    fn text := format('%I.%I', 'ops', 'track_' || source || '__via_' || parent_name);
    image text;
    inserts text[] := '{}';
begin
    foreach image in array array['old', 'new'] loop
        inserts := inserts || format(
            'for shard in select shard_name(%L::regclass, sh.shardid) from pg_dist_shard as sh '
            'inner join pg_dist_placement as pl on sh.shardid = pl.shardid '
            'where sh.logicalrelid = %L::regclass and pl.groupid = (select groupid from pg_dist_local_group) loop '
            'execute format(%L, shard) using %s; end loop; ',
            child, child,
            ops.mart_change_insert(
                source,
                replace(ops.mart_source_expression(group_expression, 'child'), 'parent.', '($1).'),
                ops.mart_source_expression(time_expression, 'child'),
                format('from %%s as child where %s',
                    replace(ops.mart_source_expression(child_filter, 'child'), 'parent.', '($1).'))),
            image);
    end loop;
    execute format(
        'create or replace function %s() returns trigger '
        'language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$ '
        'declare shard text; '
        'begin %s if tg_op = ''UPDATE'' then %s return null; end if; return old; end $fn$',
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

-- 002's ops.refuse_truncate_of, allowed to create its trigger on a
-- distributed partition (Citus asks for citus.enable_unsafe_triggers: the
-- trigger is created on every shard).
create or replace function ops.refuse_truncate_of(relation regclass) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    part regclass;
    unsafe_triggers text := current_setting('citus.enable_unsafe_triggers');
begin
    perform set_config('citus.enable_unsafe_triggers', 'on', true);
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
    perform set_config('citus.enable_unsafe_triggers', unsafe_triggers, true);
end
$$;
