-- Analytics off the primary: the marts built on a server fed by PostgreSQL
-- logical replication (`opsmart replicate setup`, src/opsmart/replicate.py).
--
-- The primary publishes the mart sources (every column but change_xid) and
-- keeps its own tracking. The analytics server holds the replicas, their
-- tracking and the marts. What changes there, and why:
--
-- * change_xid is the analytics server's own column: the primary does not send
--   it, so its default stamps the local transaction that applies each remote
--   one (one local transaction per remote one, in the primary's commit order),
--   and a build's snapshot scan works unchanged.
-- * Updates and deletes arrive through the apply worker, which runs with
--   session_replication_role = replica: ordinary triggers do not fire, and
--   statement triggers never do. Tracking therefore uses row triggers enabled
--   ALWAYS. They are BEFORE triggers: AFTER row triggers fired by apply on a
--   partitioned table cost time quadratic in the rows of a transaction and
--   leak a relcache reference per row (PostgreSQL 15 to 18).
-- * A BEFORE trigger logs the (group, hour) of the old row (a delete, or an
--   update of the declared columns) and stamps change_xid of the new one: there
--   change_xid means "last written by", and the build's change_xid scan finds
--   the new (group, hour) of an updated row as it finds an inserted one. Apply
--   turns a row that moves between partitions into a delete and an insert; the
--   insert is stamped too.
--
-- Which tables are replicas is recorded in ops.replicated_table, with the
-- columns the primary publishes for each: a column here that the primary does
-- not send would stay empty, which ops.replica_column_problems() reports
-- before every build.

create table ops.replicated_table (
    relation text not null,
    column_names name[] not null,
    column_types text[] not null,
    recorded_at timestamptz not null default now(),
    constraint pk_replicated_table primary key (relation),
    constraint chk_replicated_table_columns check (cardinality(column_names) = cardinality(column_types))
);
comment on table ops.replicated_table is
'On an analytics server: the tables it receives from the primary by logical replication, with the '
'columns (and their types) the primary publishes. Empty on a primary.';

-- The columns of `relations` a publication carries: every column but
-- change_xid (each side stamps its own) and generated ones (computed on each
-- side), with their types.
create function ops.replication_columns(relations text[])
returns table (relation text, column_name name, data_type text, column_number integer)
language sql stable
set search_path = pg_catalog
as $$
    select rel.name, att.attname, format_type(att.atttypid, att.atttypmod), att.attnum::integer
    from unnest(relations) as rel (name)
    inner join pg_attribute as att on att.attrelid = to_regclass(rel.name)
    where att.attnum > 0 and not att.attisdropped and att.attgenerated = '' and att.attname <> 'change_xid'
    order by rel.name, att.attnum
$$;
comment on function ops.replication_columns(text[]) is
'Per table: the columns a publication of it carries (all but change_xid and generated columns), with types.';

-- Whether the change tracking of this database is switched off
-- (ops.set_mart_tracking): its sources are published to an analytics server
-- that builds the marts.
create function ops.mart_tracking_is_off() returns boolean
language sql stable
set search_path = pg_catalog
as $$
    select exists (
        select from pg_trigger as tg
        where tg.tgname like 'trg\_%\_mart\_change' and tg.tgparentid = 0 and tg.tgenabled = 'D'
    )
$$;
comment on function ops.mart_tracking_is_off() is
'True when the marts'' change tracking is switched off here (a primary whose marts an analytics server builds).';

-- (Re)installs the change tracking of one declared source on its table: the
-- primary's AFTER row trigger (disabled while the tracking is switched off),
-- or, on a replica (ops.replicated_table), the BEFORE row trigger enabled
-- ALWAYS described above. Idempotent.
create function ops.install_mart_tracking(p_source text, p_relation regclass) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    decl ops.mart_source;
    table_name name;
    fn text;
    trigger_name text := 'trg_' || p_source || '_mart_change';
    columns_clause text := '';
    changed text := 'true';
    old_insert text;
begin
    select * into strict decl from ops.mart_source as ms where ms.source = p_source and ms.relation = p_relation;
    select cls.relname into table_name from pg_class as cls where cls.oid = p_relation;
    fn := format('%I.%I', 'ops', 'track_' || p_source || '__' || table_name);
    old_insert := ops.mart_change_insert(p_source, ops.mart_source_expression(decl.group_expression, 'old'),
        ops.mart_source_expression(decl.time_expression, 'old'));
    execute format('drop trigger if exists %I on %s', trigger_name, p_relation);

    if not exists (select from ops.replicated_table as rt where to_regclass(rt.relation) = p_relation) then
        execute format(
            'create or replace function %s() returns trigger '
            'language plpgsql security definer set search_path = pg_catalog, pg_temp as $fn$ '
            'begin '
            '  %s '
            '  if tg_op = ''UPDATE'' then %s end if; '
            '  return null; '
            'end $fn$',
            fn, old_insert,
            ops.mart_change_insert(p_source, ops.mart_source_expression(decl.group_expression, 'new'),
                ops.mart_source_expression(decl.time_expression, 'new')));
        if decl.update_columns is not null then
            select ' of ' || string_agg(quote_ident(c), ', ') into columns_clause
            from unnest(decl.update_columns) as c;
        end if;
        execute format(
            'create trigger %I after update%s or delete on %s for each row execute function %s()',
            trigger_name, columns_clause, p_relation, fn);
        if ops.mart_tracking_is_off() then
            execute format('alter table %s disable trigger %I', p_relation, trigger_name);
        end if;
    else
        if decl.update_columns is not null then
            select format('row(%s) is distinct from row(%s)',
                string_agg('old.' || quote_ident(c), ', '), string_agg('new.' || quote_ident(c), ', '))
            into changed
            from unnest(decl.update_columns) as c;
        end if;
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
        execute format(
            'create trigger %I before insert or update or delete on %s for each row execute function %s()',
            trigger_name, p_relation, fn);
        execute format('alter table %s enable always trigger %I', p_relation, trigger_name);
    end if;
    execute format('revoke all on function %s() from public', fn);
end
$$;
comment on function ops.install_mart_tracking(text, regclass) is
'Installs a declared source''s row trigger: AFTER update/delete on a primary, BEFORE insert/update/delete '
'enabled ALWAYS on a replica (ops.replicated_table).';

-- ops.track_mart_source (002) followed by ops.install_mart_tracking: a
-- source declared by a later migration on an analytics server gets the
-- replica's tracking, on a primary whose tracking is off a disabled trigger.
alter function ops.track_mart_source(text, regclass, text, text, name[]) rename to track_mart_source_002;
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
begin
    perform ops.track_mart_source_002(source, relation, time_expression, group_expression, update_columns);
    perform ops.install_mart_tracking(source, relation);
end
$$;
comment on function ops.track_mart_source(text, regclass, text, text, name[]) is
'Declares a mart source and installs its change tracking (change_xid, BRIN index, row trigger).';

-- Records the tables this database receives from the primary and the columns
-- the primary publishes for each ({"ops.event": [["id", "bigint"], ...], ...}),
-- forgets any other, and installs the matching tracking on every declared
-- source. The triggers that log a source's rows when their parent changes
-- (ops.track_mart_parent) fire during apply too. Idempotent.
create function ops.track_replicated_tables(spec jsonb) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    src record;
    trg record;
begin
    delete from ops.replicated_table as rt where not spec ? rt.relation;
    insert into ops.replicated_table as rt (relation, column_names, column_types)
    select
        tbl.key,
        array(select col.value ->> 0 from jsonb_array_elements(tbl.value) as col)::name[],
        array(select col.value ->> 1 from jsonb_array_elements(tbl.value) as col)
    from jsonb_each(spec) as tbl
    on conflict on constraint pk_replicated_table do update set
        column_names = excluded.column_names,
        column_types = excluded.column_types,
        recorded_at = now();

    for src in select ms.source, ms.relation from ops.mart_source as ms order by 1, 2 loop
        perform ops.install_mart_tracking(src.source, src.relation);
    end loop;

    for trg in
        select tg.tgrelid::regclass as relation, tg.tgname,
            exists (select from ops.replicated_table as rt where to_regclass(rt.relation) = tg.tgrelid) as replica
        from pg_trigger as tg
        where tg.tgname like 'trg\_%\_mart\_parent\_%' and tg.tgparentid = 0
    loop
        execute format('alter table %s enable %s trigger %I',
            trg.relation, case when trg.replica then 'always' else '' end, trg.tgname);
    end loop;
end
$$;
comment on function ops.track_replicated_tables(jsonb) is
'Records the replicated tables and their published columns, and installs the replica''s change tracking.';

-- On a primary whose marts an analytics server builds: switches its own
-- change tracking off (no row trigger logs updates and deletes, the change log
-- is emptied; change_xid keeps its default) or on again. Either way the build
-- state goes: a build here must start from a full refresh, and while the
-- tracking is off no build may run here (ops.build_role_problem).
create function ops.set_mart_tracking(enabled boolean) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    trg record;
    src record;
begin
    if exists (select from ops.replicated_table) then
        raise exception 'opsmart: this database is an analytics server: its tracking stays on';
    end if;
    if enabled then
        for trg in
            select tg.tgrelid::regclass as relation, tg.tgname from pg_trigger as tg
            where tg.tgname like 'trg\_%\_mart\_%' and tg.tgparentid = 0 and tg.tgenabled = 'D'
        loop
            execute format('alter table %s enable trigger %I', trg.relation, trg.tgname);
        end loop;
        for src in select ms.source, ms.relation from ops.mart_source as ms order by 1, 2 loop
            perform ops.install_mart_tracking(src.source, src.relation);
        end loop;
    else
        for trg in
            select tg.tgrelid::regclass as relation, tg.tgname from pg_trigger as tg
            where tg.tgname like 'trg\_%\_mart\_%' and tg.tgparentid = 0 and tg.tgenabled <> 'D'
        loop
            execute format('alter table %s disable trigger %I', trg.relation, trg.tgname);
        end loop;
        delete from ops.mart_change_log;
    end if;
    delete from ops.mart_build_state;
end
$$;
comment on function ops.set_mart_tracking(boolean) is
'On a primary: switches the marts'' change tracking off (an analytics server builds them) or on; '
'either way the next build here is a full refresh.';

-- ops.build_role_problem (012), and no build where the change tracking is
-- switched off. (Security definer to call the renamed original; both name
-- session_user.)
alter function ops.build_role_problem() rename to build_role_problem_012;
create function ops.build_role_problem() returns text
language sql stable
security definer
set search_path = pg_catalog
as $$
    select coalesce(
        ops.build_role_problem_012(),
        case when ops.mart_tracking_is_off() then
            'the change tracking of this database is switched off: an analytics server builds its marts '
            || '(opsmart replicate setup); build there'
        end
    )
$$;
comment on function ops.build_role_problem() is
'Why the session user may not run a mart build (it would lend its rights to SQL a transformer can plant, '
'or the tracking is off here), or NULL.';

-- Columns of a replicated table that differ from what the primary publishes:
-- 'not replicated' (here, not published: it would stay empty), 'missing' (published,
-- not here: the subscription stops), 'type' (published with another type).
create function ops.replica_column_problems()
returns table (relation text, column_name name, problem text, local_type text, published_type text)
language sql stable
security definer
set search_path = pg_catalog
as $$
    with

    published as (
        select rt.relation, pub.column_name, pub.data_type
        from ops.replicated_table as rt
        cross join lateral unnest(rt.column_names, rt.column_types) as pub (column_name, data_type)
    ),

    local_columns as (
        select lc.relation, lc.column_name, lc.data_type
        from ops.replication_columns(array(select rt.relation from ops.replicated_table as rt)) as lc
    )

    select
        coalesce(lc.relation, pub.relation),
        coalesce(lc.column_name, pub.column_name),
        case
            when pub.column_name is null then 'not replicated'
            when lc.column_name is null then 'missing'
            else 'type'
        end,
        lc.data_type,
        pub.data_type
    from local_columns as lc
    full outer join published as pub on lc.relation = pub.relation and lc.column_name = pub.column_name
    where pub.column_name is null or lc.column_name is null or lc.data_type <> pub.data_type
    order by 1, 2
$$;
comment on function ops.replica_column_problems() is
'On an analytics server: columns of replicated tables that differ from what the primary publishes.';

-- The subscription(s) of this database to a publication, as the catalogs
-- every role may read show them: enabled, a worker applying, tables not yet
-- copied, errors counted since the statistics were reset.
create function ops.replica_subscription(publication name)
returns table (
    subscription name,
    enabled boolean,
    worker_running boolean,
    received_lsn pg_lsn,
    last_message_age interval,
    tables integer,
    tables_not_ready text[],
    apply_errors bigint,
    sync_errors bigint
)
language sql stable
set search_path = pg_catalog
as $$
    select
        sub.subname,
        sub.subenabled,
        coalesce(worker.running, false),
        worker.received_lsn,
        now() - worker.last_receipt,
        (select count(*)::integer from pg_subscription_rel as sr where sr.srsubid = sub.oid),
        array(
            select format('%s (%s)', sr.srrelid::regclass, sr.srsubstate)
            from pg_subscription_rel as sr
            where sr.srsubid = sub.oid and sr.srsubstate <> 'r'
            order by 1
        ),
        coalesce(stats.apply_error_count, 0),
        coalesce(stats.sync_error_count, 0)
    from pg_subscription as sub
    left join lateral (
        select
            bool_or(st.pid is not null) as running,
            max(st.received_lsn) as received_lsn,
            max(st.last_msg_receipt_time) as last_receipt
        from pg_stat_subscription as st
        where st.subid = sub.oid and st.relid is null
    ) as worker on true
    left join pg_stat_subscription_stats as stats on sub.oid = stats.subid
    where
        sub.subdbid = (select db.oid from pg_database as db where db.datname = current_database())
        and publication = any(sub.subpublications)
    order by sub.subname
$$;
comment on function ops.replica_subscription(name) is
'On an analytics server: state of its subscriptions to a publication of the primary.';

-- On the primary: a logical replication slot and how far behind its
-- subscriber is. confirmed_flush moves with the subscriber's feedback (after
-- each applied transaction, and at least every wal_receiver_status_interval);
-- replay_lag shows only to roles that may read other sessions' statistics.
create function ops.replication_slot(slot name)
returns table (
    active boolean,
    bytes_behind numeric,
    retained_bytes numeric,
    wal_status text,
    replay_lag interval
)
language sql stable
set search_path = pg_catalog
as $$
    select
        sl.active,
        pg_wal_lsn_diff(pg_current_wal_lsn(), sl.confirmed_flush_lsn),
        pg_wal_lsn_diff(pg_current_wal_lsn(), sl.restart_lsn),
        sl.wal_status,
        rep.replay_lag
    from pg_replication_slots as sl
    left join pg_stat_replication as rep on sl.active_pid = rep.pid
    where sl.slot_name = replication_slot.slot
$$;
comment on function ops.replication_slot(name) is
'On the primary: a logical slot''s activity, bytes its subscriber has not confirmed, WAL it retains.';

-- For `opsmart replicate setup --resync`: empties every replicated table (and,
-- by cascade, the local rows that reference them: tenant mappings, which the
-- caller keeps and restores) in one statement, so that a new subscription
-- copies them again. Truncate refusals are lifted meanwhile; the next build
-- sees the truncated sources and rebuilds its marts in full.
create function ops.truncate_replicated_tables() returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    tables text;
    refusal record;
begin
    select string_agg(to_regclass(rt.relation)::text, ', ') into tables
    from ops.replicated_table as rt
    where to_regclass(rt.relation) is not null;
    if tables is null then
        raise exception 'opsmart: this database replicates no tables: nothing to truncate';
    end if;
    for refusal in
        select tg.tgrelid::regclass as relation from pg_trigger as tg
        where tg.tgname = 'trg_refuse_truncate' and tg.tgenabled <> 'D'
    loop
        execute format('alter table %s disable trigger trg_refuse_truncate', refusal.relation);
    end loop;
    execute 'truncate ' || tables || ' cascade';
    for refusal in
        select tg.tgrelid::regclass as relation from pg_trigger as tg
        where tg.tgname = 'trg_refuse_truncate' and tg.tgenabled = 'D'
    loop
        execute format('alter table %s enable trigger trg_refuse_truncate', refusal.relation);
    end loop;
end
$$;
comment on function ops.truncate_replicated_tables() is
'For a resync: truncates every replicated table (cascading; truncate refusals lifted meanwhile).';
