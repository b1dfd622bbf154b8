-- What a distributed (Citus) deployment needs from the schema, harmless on one
-- server. The cluster itself is set up by ops_schema/citus/, which bootstrap
-- applies only where the citus extension exists (docs/scale-out.md).

-- The three children that did not carry their parent's organization now do,
-- like every other child (001: ops.inherit_organization): a cluster keeps a
-- tenant's rows on its tenant's shard, and can only do that by a column of
-- the row. On one server writers may leave it out (the trigger fills it); a
-- cluster routes the row before any trigger runs, so writers give it there.
alter table ops.analysis_node_result add column organization_id uuid;
update ops.analysis_node_result as child set organization_id = parent.organization_id
from ops.analysis_run as parent
where child.analysis_run_id = parent.id;
alter table ops.analysis_node_result
add constraint fk_analysis_node_result_analysis_run_id_organization_id
foreign key (analysis_run_id, organization_id)
references ops.analysis_run (id, organization_id) on update cascade;
create trigger trg_analysis_node_result_organization
before insert or update of analysis_run_id, organization_id on ops.analysis_node_result
for each row execute function ops.inherit_organization('ops.analysis_run', 'analysis_run_id');
comment on column ops.analysis_node_result.organization_id is
'Its run''s (ops.inherit_organization fills it when left out on one server).';

alter table ops.workflow_node add column organization_id uuid;
update ops.workflow_node as child set organization_id = parent.organization_id
from ops.workflow_run as parent
where child.run_id = parent.id;
alter table ops.workflow_node
add constraint fk_workflow_node_run_id_organization_id
foreign key (run_id, organization_id)
references ops.workflow_run (id, organization_id) on update cascade;
create trigger trg_workflow_node_organization
before insert or update of run_id, organization_id on ops.workflow_node
for each row execute function ops.inherit_organization('ops.workflow_run', 'run_id');
comment on column ops.workflow_node.organization_id is
'Its workflow run''s (ops.inherit_organization fills it when left out on one server).';

alter table ops.chain_analysis_result add column organization_id uuid;
update ops.chain_analysis_result as child set organization_id = parent.organization_id
from ops.chat_session as parent
where child.session_id = parent.id;
alter table ops.chain_analysis_result
add constraint fk_chain_analysis_result_session_id_organization_id
foreign key (session_id, organization_id)
references ops.chat_session (id, organization_id) on update cascade;
create trigger trg_chain_analysis_result_organization
before insert or update of session_id, organization_id on ops.chain_analysis_result
for each row execute function ops.inherit_organization('ops.chat_session', 'session_id');
comment on column ops.chain_analysis_result.organization_id is
'Its chat session''s (ops.inherit_organization fills it when left out on one server).';

-- The organization of anonymous rows (runs, workflows, chat sessions without
-- one): NULL on one server. A cluster cannot store NULL in the column it
-- shards by, and redefines this as the id of its "anonymous" organization
-- (ops_schema/citus/010_distribute.sql). Writers and the generator write
-- coalesce(organization, ops.anonymous_organization()).
create function ops.anonymous_organization() returns uuid
language sql immutable
set search_path = pg_catalog
as $$
    select null::uuid
$$;
comment on function ops.anonymous_organization() is
'The organization_id of anonymous rows: NULL on one server, a sentinel organization on a Citus cluster.';

-- A cluster's build state: per worker node group, the snapshot the build
-- started from there (ops_schema/citus); NULL on one server.
alter table ops.mart_build_state add column node_snapshots jsonb;
comment on column ops.mart_build_state.node_snapshots is
'On a Citus cluster: {node group id: pg_snapshot of that node} the build started from; NULL on one server.';
