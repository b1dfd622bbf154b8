-- A build's cut on a Citus cluster: every worker's snapshot and the changes
-- it holds that the previous cut had not seen (see 020_change_tracking.sql
-- and docs/scale-out.md), then the installation of the cluster's tracking on
-- every declared source.

-- On one worker: its snapshot now (or its entry of `upto`, the cut of the
-- mart a mart is built from) and, with `collect`, the (group, hour) keys of
-- the rows of its shards of the declared sources (`spec`: [{relation,
-- time_expression, group_expression}]) and of its change log that this
-- snapshot sees and its entry of `previous` did not. A node absent from
-- `previous` gives every key its snapshot sees. Called through
-- ops.cluster_claim.
create or replace function ops.node_claim(
    sources text[], spec jsonb, previous jsonb, upto jsonb, collect boolean
) returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    node integer := (select lg.groupid from pg_dist_local_group as lg);
    now_snapshot pg_snapshot := pg_current_snapshot();
    before pg_snapshot := (previous ->> node::text)::pg_snapshot;
    low bigint := coalesce(pg_snapshot_xmin(before)::text::bigint, 0);
    decl record;
    shard record;
    time_sql text;
    keys jsonb := '[]';
    found jsonb;
begin
    if upto is not null then
        now_snapshot := (upto ->> node::text)::pg_snapshot;  -- NULL: the node joined after that build
    end if;
    if collect and now_snapshot is not null then
        select coalesce(jsonb_agg(jsonb_build_array(changed.group_key, changed.bucket)), '[]') into keys
        from (
            select distinct log.group_key, log.bucket
            from ops.mart_change_log as log
            where
                log.source = any(sources)
                and log.xid >= low::text::xid8
                and pg_visible_in_snapshot(log.xid, now_snapshot)
                and (before is null or not pg_visible_in_snapshot(log.xid, before))
        ) as changed;

        for decl in select * from jsonb_to_recordset(spec) as s (relation text, time_expression text, group_expression text)
        loop
            time_sql := ops.mart_source_expression(decl.time_expression, 'changed');
            for shard in
                select sh.shardid, shard_name(sh.logicalrelid, sh.shardid) as name
                from pg_dist_shard as sh
                inner join pg_dist_placement as pl on sh.shardid = pl.shardid
                where sh.logicalrelid = decl.relation::regclass and pl.groupid = node
            loop
                execute ops.cluster_shard_sql(format(
                    'select coalesce(jsonb_agg(jsonb_build_array(k.g, k.b)), ''[]'') from ('
                    'select distinct (%s)::text[] as g, date_trunc(''hour'', (%s)::timestamptz, ''UTC'') as b '
                    'from %s as changed '
                    'where changed.change_xid >= %s '
                    'and (%L::pg_snapshot is null '
                    'or not pg_visible_in_snapshot(changed.change_xid::text::xid8, %L::pg_snapshot)) '
                    'and pg_visible_in_snapshot(changed.change_xid::text::xid8, %L::pg_snapshot) '
                    'and (%s) is not null) as k',
                    ops.mart_source_expression(decl.group_expression, 'changed'), time_sql, shard.name,
                    low, before, before, now_snapshot, time_sql), shard.shardid)
                into found;
                keys := keys || found;
            end loop;
        end loop;
    end if;
    return jsonb_build_object('node', node, 'snapshot', now_snapshot::text, 'keys', keys);
end
$$;

-- On one worker: forget the log rows every build state has seen there.
create or replace function ops.node_release(horizons jsonb) returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    horizon xid8 := (horizons ->> (select lg.groupid from pg_dist_local_group as lg)::text)::xid8;
    removed bigint;
begin
    if horizon is null then
        return 0;
    end if;
    delete from ops.mart_change_log as log where log.xid < horizon;
    get diagnostics removed = row_count;
    return removed;
end
$$;

-- On one worker: the buckets of `sources` that this node's entry of `cut`
-- (a build state's) has not seen, from its rows and its log; every bucket
-- when the cut has no entry for the node.
create or replace function ops.node_pending(sources text[], spec jsonb, cut jsonb) returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    answer jsonb := ops.node_claim(sources, spec, cut, null, true);
begin
    return (select coalesce(jsonb_agg(distinct k.value ->> 1), '[]') from jsonb_array_elements(answer -> 'keys') as k);
end
$$;

-- The declarations of `sources` as node_claim takes them.
create or replace function ops.cluster_source_spec(sources text[]) returns jsonb
language sql stable
set search_path = pg_catalog
as $$
    select coalesce(jsonb_agg(jsonb_build_object(
        'relation', ms.relation::text,
        'time_expression', ms.time_expression,
        'group_expression', ms.group_expression
    ) order by ms.relation::text, ms.source), '[]')
    from ops.mart_source as ms
    where ms.source = any(sources)
$$;

-- Runs `command` on every worker; a worker that does not answer fails the
-- caller in one line naming it.
create or replace function ops.cluster_answers(command text) returns setof text
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    answer record;
begin
    for answer in select * from run_command_on_workers(command) loop
        if not answer.success then
            raise exception 'opsmart: worker %:% of the Citus cluster did not answer: %',
                answer.nodename, answer.nodeport, answer.result
                using errcode = 'connection_failure';
        end if;
        return next answer.result;
    end loop;
end
$$;

-- A build's cut: {"snapshots": {node group: snapshot}, "keys": [[group_key,
-- bucket], ...]} from every worker (ops.node_claim), each asked before the
-- build reads its sources there. Runs as its owner: the workers are asked
-- over connections of their own, as that role, outside the build's
-- transaction (each snapshot is that worker's at the moment it answers).
-- First forgets, on every worker, the log rows every committed build state
-- has seen (a node's horizon: the oldest xmin its entries in the build
-- states hold; none while any state lacks the node).
create or replace function ops.cluster_claim(sources text[], previous jsonb, upto jsonb, collect boolean)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    part jsonb;
    snapshots jsonb := '{}';
    keys jsonb := '[]';
    horizons jsonb;
begin
    if not exists (select from ops.mart_build_state as st where st.node_snapshots is null) then
        select coalesce(jsonb_object_agg(node.key, node.horizon), '{}') into horizons
        from (
            select entry.key, min(pg_snapshot_xmin(entry.value::pg_snapshot))::text as horizon, count(*) as states
            from ops.mart_build_state as st
            cross join lateral jsonb_each_text(st.node_snapshots) as entry
            group by entry.key
        ) as node
        where node.states = (select count(*) from ops.mart_build_state);
        perform ops.cluster_answers(format('select ops.node_release(%L::jsonb)', horizons));
    end if;
    for part in
        select answer::jsonb from ops.cluster_answers(format(
            'select ops.node_claim(%L::text[], %L::jsonb, %L::jsonb, %L::jsonb, %L::boolean)',
            sources, ops.cluster_source_spec(sources), previous, upto, collect)) as answer
    loop
        if part ->> 'snapshot' is not null then
            snapshots := snapshots || jsonb_build_object(part ->> 'node', part ->> 'snapshot');
        end if;
        keys := keys || (part -> 'keys');
    end loop;
    return jsonb_build_object('snapshots', snapshots, 'keys', keys);
end
$$;

-- Buckets with changes a build's cut has not seen, from every worker: what
-- the reconciliation tests skip (macros/testing/pending_buckets.sql).
create or replace function ops.cluster_pending(sources text[], cut jsonb) returns setof timestamptz
language sql
security definer
set search_path = pg_catalog, pg_temp
as $$
    select pending.bucket::timestamptz
    from ops.cluster_answers(format(
        'select ops.node_pending(%L::text[], %L::jsonb, %L::jsonb)',
        sources, ops.cluster_source_spec(sources), cut)) as answer
    cross join lateral jsonb_array_elements_text(answer::jsonb) as pending (bucket)
$$;

-- 002's ops.mart_source_identity, with what a cluster changes: the
-- placements of the sources' shards count (a shard moved to another node
-- keeps its old node's transaction ids, so a move must rebuild the marts
-- that read it in full: it shows as an unpartitioned table rewritten), and
-- every partition counts as holding rows, read from the catalog only: it
-- runs as its caller, the build login, inside the build's transaction, and
-- a distributed read there as another role would reach the workers over
-- that role's connections. (A new, empty month is then recomputed once.)
-- Without Citus' shard filter on pg_class: Citus adds
-- relation_is_a_known_shard(oid) to every query that reads pg_class, and
-- in Citus 14.0.1 that function dereferences a NULL name (segmentation
-- fault, the coordinator restarts) for an index whose table another
-- session has just dropped. The scan of pg_class below meets the tables
-- (temp tables, dbt's __dbt_backup) that a build's other thread drops; the leaves it
-- looks up are never shards, so the filter changes nothing else. (The
-- setting's name is quoted: sqlfluff cannot parse a dotted one there.)
create or replace function ops.mart_source_identity(sources text[]) returns jsonb
language plpgsql stable
security invoker
set search_path = pg_catalog, pg_temp
set "citus.override_table_visibility" = off
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
        has_rows := true;
        bounds := regexp_match(part.bound, '^FOR VALUES FROM \(''([^'']+)''\) TO \(''([^'']+)''\)$');
        result := result || jsonb_build_object(part.rel::text, jsonb_build_object(
            'relfilenode', part.relfilenode,
            'has_rows', has_rows,
            'lower', bounds[1]::timestamptz,
            'upper', bounds[2]::timestamptz
        ));
    end loop;
    return result || jsonb_build_object('citus placements', jsonb_build_object(
        'relfilenode', (
            select md5(coalesce(string_agg(format('%s:%s', pl.shardid, pl.groupid), ',' order by pl.shardid), ''))
            from pg_dist_placement as pl
            inner join pg_dist_shard as sh on pl.shardid = sh.shardid
            where sh.logicalrelid in (
                select src.relation from ops.mart_source as src where src.source = any(sources)
            )
        ),
        'has_rows', true,
        'lower', null,
        'upper', null
    ));
end
$$;

-- Triggers on distributed tables are created on every shard by Citus when
-- asked (docs/scale-out.md).
select set_config('citus.enable_unsafe_triggers', 'on', true);

select ops.cluster_install_nodes();

-- The functions the workers run, on every node.
select create_distributed_function(fns.fn::regprocedure)
from
    unnest(array[
        'ops.mart_source_expression(text, text)',
        'ops.cluster_shard_sql(text, bigint)',
        'ops.cluster_shard_id(name)',
        'ops.node_claim(text[], jsonb, jsonb, jsonb, boolean)',
        'ops.node_release(jsonb)',
        'ops.node_pending(text[], jsonb, jsonb)',
        'ops.tenant_organization_ids()',
        'ops.my_role_ids()',
        'ops.my_roles()'
    ]) as fns (fn)
where not exists (
    select from pg_dist_object as obj
    where obj.objid = fns.fn::regprocedure
);

-- A child's time read from its parent (analysis_daily counts a metric in its
-- run's day) names the parent's organization too, so the lookup stays in the
-- shard both share.
update ops.mart_source as src
set
    time_expression = replace(
        src.time_expression, 'where r.id = row.analysis_run_id)',
        'where r.id = row.analysis_run_id and r.organization_id = row.organization_id)'
    )
where src.time_expression like '%where r.id = row.analysis_run_id)';

select ops.cluster_track_source(src.source, src.relation)
from ops.mart_source as src
order by src.relation::text, src.source;

-- 006's parent declaration, the cluster's way.
select ops.cluster_track_parent(
    'judge_score', 'ops.judge_criterion', array['key'], 'ops.judge_score',
    'row.criterion_id = parent.id', 'row.created_at', 'array[row.organization_id::text]'
);
