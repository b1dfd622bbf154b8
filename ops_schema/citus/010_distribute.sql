-- Where each table lives on a Citus cluster (docs/scale-out.md has the why).
--
-- Applied by `opsmart bootstrap` only where the citus extension exists, after
-- the versioned files, on every run, in one transaction; once the tables are
-- distributed it changes nothing. A single server never runs it.
--
-- * Tenant data is distributed by organization_id, every table in one
--   co-location group: a tenant's runs, metrics, scores, node results,
--   workflows, sessions, messages, memberships and events sit in shards of
--   the same hash range on the same node, so the marts' per-organization
--   aggregations and the foreign keys between them run on one worker.
-- * The query performance log is the platform's own telemetry, grouped by
--   query name in its one mart: distributed by query_name (its own group).
-- * Small shared tables every tenant table refers to are reference tables
--   (a copy on every node): organizations, users, prompts, experiments,
--   judge rubrics and criteria, API keys, provider credentials, tenant readers.
-- * Personal data no mart reads (auth accounts, sessions) and the legacy
--   prompt tables stay on the coordinator as Citus local tables, so their
--   foreign keys to users and prompts still hold.
-- * The bookkeeping (migration ledger, build state and history, mart sources
--   and schemas) and the append-only audit log stay plain tables of the
--   coordinator: every bootstrap, build and purge goes through it, and the
--   audit log's append-only trigger and its rows outlive any tenant.
--
-- What Citus cannot enforce as one server does, and what guards it instead,
-- is in docs/scale-out.md: every unique key of a distributed table includes
-- its distribution column; a row's organization never changes; anonymous
-- rows belong to the nil-uuid organization.

-- Anonymous runs, workflows and chat sessions cannot have a NULL
-- organization here (Citus routes every row by it): they belong to this one.
create or replace function ops.anonymous_organization() returns uuid
language sql immutable
set search_path = pg_catalog
as $$
    select '00000000-0000-0000-0000-000000000000'::uuid
$$;

-- The roles the caller is or belongs to, as an array: the same rule as
-- ops.my_roles() (013), in a form a policy of a Citus table may hold (no
-- subquery).
create or replace function ops.my_role_ids() returns oid[]
language sql stable
set search_path = pg_catalog
as $$
    select coalesce(array_agg(roles.role_id), '{}') from ops.my_roles() as roles (role_id)
$$;

do $distribute$
declare
    item record;
    relation text;
    distributed constant text[] := array[
        'ops.analysis_run', 'ops.analysis_metric', 'ops.analysis_node_result', 'ops.judge_score',
        'ops.workflow_run', 'ops.workflow_node', 'ops.evaluation_metric', 'ops.chat_session', 'ops.message',
        'ops.chain_analysis_result', 'ops.organization_user', 'ops.event'
    ];
    reference constant text[] := array[
        'ops.organization', 'core.users', 'core.prompts', 'ops.api_key', 'ops.provider_credential',
        'ops.experiment', 'ops.experiment_run', 'ops.judge_rubric', 'ops.judge_criterion', 'ops.tenant_reader'
    ];
    coordinator_only constant text[] := array[
        'core.auth_accounts', 'core.sessions', 'core.prompt_relations', 'core.analysis_results'
    ];
    -- A child's key to its parent by id alone: its composite key (with the
    -- organization) does the same job and is the one Citus can enforce, on
    -- the worker that holds both.
    superseded constant text[] := array[
        'fk_analysis_metric_analysis_run_id', 'fk_analysis_node_result_analysis_run_id',
        'fk_judge_score_analysis_run_id', 'fk_workflow_node_run_id', 'fk_evaluation_metric_run_id',
        'fk_message_session_id', 'fk_chain_analysis_result_session_id'
    ];
begin
    if exists (select from pg_dist_partition where logicalrelid = 'ops.event'::regclass) then
        return;  -- distributed by an earlier bootstrap
    end if;

    insert into ops.organization (id, name, slug)
    values (ops.anonymous_organization(), 'Anonymous', 'anonymous')
    on conflict do nothing;

    -- Foreign keys come off while tables change hands (Citus would otherwise
    -- pull every table reachable by a key into the first reference table it
    -- makes) and go back on at the end.
    create temporary table opsmart_foreign_key on commit drop as
    select con.conrelid::regclass::text as relation, con.conname as name, pg_get_constraintdef(con.oid) as definition
    from pg_constraint as con
    where
        con.contype = 'f' and con.conparentid = 0
        and con.conrelid::regclass::text = any(
            distributed || reference || coordinator_only || 'ops.query_performance_log'::text
        );
    for item in select * from opsmart_foreign_key loop
        execute format('alter table %s drop constraint %I', item.relation, item.name);
    end loop;

    -- The triggers filling a child's organization go: on a cluster it is the
    -- column a row is routed by, which Citus needs before any trigger runs,
    -- so writers give it (a NULL is refused by Citus). The one-server
    -- tracking triggers go too: 020_change_tracking.sql installs the
    -- cluster's.
    for item in
        select tg.tgrelid::regclass as relation, tg.tgname as name
        from pg_trigger as tg
        where
            not tg.tgisinternal and tg.tgparentid = 0
            and (
                tg.tgname like 'trg\_%\_mart\_change' or tg.tgname like 'trg\_%\_mart\_parent\_%'
                or tg.tgname like 'trg\_%\_mart\_move'
                or tg.tgname like 'trg\_%\_organization'
            )
    loop
        execute format('drop trigger %I on %s', item.name, item.relation);
    end loop;

    -- Anonymous rows move to the anonymous organization.
    foreach relation in array array['ops.analysis_run', 'ops.workflow_run', 'ops.chat_session'] loop
        execute format(
            'update %s set organization_id = ops.anonymous_organization() where organization_id is null', relation
        );
        execute format(
            'alter table %s alter column organization_id set default ops.anonymous_organization()', relation
        );
    end loop;
    foreach relation in array distributed loop
        execute format('alter table %s alter column organization_id set not null', relation);
    end loop;

    -- Every unique key of a distributed table includes its distribution column.
    foreach relation in array array['ops.analysis_run', 'ops.workflow_run', 'ops.chat_session'] loop
        execute format('alter table %s drop constraint %I', relation,
            'unq_' || split_part(relation, '.', 2) || '_id_organization_id');
    end loop;
    foreach relation in array array[
        'ops.analysis_run', 'ops.workflow_run', 'ops.chat_session',
        'ops.analysis_metric', 'ops.analysis_node_result', 'ops.judge_score', 'ops.workflow_node',
        'ops.evaluation_metric', 'ops.message', 'ops.organization_user'
    ] loop
        execute format('alter table %s drop constraint %I', relation, 'pk_' || split_part(relation, '.', 2));
        execute format('alter table %s add constraint %I primary key (id, organization_id)',
            relation, 'pk_' || split_part(relation, '.', 2));
    end loop;
    alter table ops.chain_analysis_result drop constraint pk_chain_analysis_result;
    alter table ops.chain_analysis_result add constraint pk_chain_analysis_result
    primary key (session_id, organization_id);
    alter table ops.workflow_node drop constraint unq_workflow_node_run_key;
    alter table ops.workflow_node add constraint unq_workflow_node_run_key unique (run_id, organization_id, key);
    alter table ops.evaluation_metric drop constraint unq_evaluation_metric_run_node_metric_created;
    alter table ops.evaluation_metric add constraint unq_evaluation_metric_run_node_metric_created
    unique nulls not distinct (run_id, organization_id, node_key, metric_name, created_at);
    alter table ops.event drop constraint pk_event;
    alter table ops.event add constraint pk_event primary key (id, occurred_at, organization_id);
    alter table ops.query_performance_log drop constraint pk_query_performance_log;
    alter table ops.query_performance_log add constraint pk_query_performance_log primary key (id, query_name);

    -- A policy of a Citus table holds no subquery (013's does).
    drop policy tenant_reader_own on ops.tenant_reader;
    create policy tenant_reader_own on ops.tenant_reader for select
    using (reader::oid = any (ops.my_role_ids()));

    perform set_config('citus.enable_unsafe_triggers', 'on', true);
    foreach relation in array reference loop
        perform create_reference_table(relation::regclass);
    end loop;
    foreach relation in array coordinator_only loop
        perform citus_add_local_table_to_metadata(relation::regclass);
    end loop;
    foreach relation in array distributed loop
        perform create_distributed_table(relation::regclass, 'organization_id',
            colocate_with => case when relation = distributed[1] then 'default' else distributed[1] end);
    end loop;
    perform create_distributed_table('ops.query_performance_log'::regclass, 'query_name');

    for item in select * from opsmart_foreign_key where not name = any(superseded) loop
        execute format('alter table %s add constraint %I %s', item.relation, item.name,
            -- a child's composite key cascades deletes (its organization never changes)
            case when item.definition like '%, organization_id) REFERENCES %'
                then replace(item.definition, 'ON UPDATE CASCADE', 'ON DELETE CASCADE')
                else item.definition end);
    end loop;
end
$distribute$;

-- The organizations a tenant may read, from the copy of ops.tenant_reader on
-- the node that asks: a row-level security policy runs on the worker that
-- holds the shard, where a query of the reference table itself would be a
-- distributed query inside a shard's (refused). Policies on distributed
-- tables cannot hold a subquery either: the marts' tenant policy there is
-- organization_id = any (ops.tenant_organization_ids()).
create or replace function ops.tenant_organization_ids() returns uuid[]
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    found uuid[];
begin
    execute format(
        'select coalesce(array_agg(tr.organization_id), ''{}'') from %s as tr '
        'where tr.reader::oid = any (ops.my_role_ids())',
        (
            select shard_name('ops.tenant_reader'::regclass, sh.shardid)
            from pg_dist_shard as sh where sh.logicalrelid = 'ops.tenant_reader'::regclass
        ))
    into found;
    return found;
end
$$;
comment on function ops.tenant_organization_ids() is
'On a Citus cluster: the organizations whose mart rows the calling role may read, from the local '
'placement of ops.tenant_reader.';
