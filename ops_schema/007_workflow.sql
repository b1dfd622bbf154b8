-- ops: workflow runs, their nodes, and the evaluation metrics they emit.

create table ops.workflow_run (
    id uuid not null default gen_random_uuid(),
    organization_id uuid,
    user_id uuid,
    status varchar(32) not null default 'running',
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    meta jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_workflow_run primary key (id),
    constraint fk_workflow_run_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint fk_workflow_run_user_id foreign key (user_id)
    references core.users (id) on delete set null,
    constraint chk_workflow_run_status check (status in ('running', 'success', 'failed', 'cancelled')),
    constraint chk_workflow_run_finished_at check (finished_at >= started_at),
    constraint unq_workflow_run_id_organization_id unique (id, organization_id)
);
create index idx_workflow_run_organization_id_started_at on ops.workflow_run (organization_id, started_at);
create index idx_workflow_run_user_id_status on ops.workflow_run (user_id, status);
create trigger trg_workflow_run_updated_at before update on ops.workflow_run
for each row execute function ops.set_updated_at();

create table ops.workflow_node (
    id uuid not null default gen_random_uuid(),
    run_id uuid not null,
    key varchar(64) not null,
    status varchar(32) not null default 'pending',
    started_at timestamptz,
    finished_at timestamptz,
    result jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_workflow_node primary key (id),
    constraint fk_workflow_node_run_id foreign key (run_id)
    references ops.workflow_run (id) on delete cascade,
    constraint unq_workflow_node_run_key unique (run_id, key),
    constraint chk_workflow_node_status check (status in ('pending', 'running', 'success', 'failed')),
    constraint chk_workflow_node_finished_at check (finished_at >= started_at)
);
create trigger trg_workflow_node_updated_at before update on ops.workflow_node
for each row execute function ops.set_updated_at();

create table ops.evaluation_metric (
    id bigint generated always as identity,
    run_id uuid not null,
    -- its workflow run's (ops.inherit_organization fills it when left out)
    organization_id uuid,
    node_key varchar(64),
    metric_name varchar(64) not null,
    metric_value double precision not null,
    metric_meta jsonb,
    created_at timestamptz not null default now(),
    constraint pk_evaluation_metric primary key (id),
    constraint fk_evaluation_metric_run_id foreign key (run_id)
    references ops.workflow_run (id) on delete cascade,
    constraint fk_evaluation_metric_run_id_organization_id foreign key (run_id, organization_id)
    references ops.workflow_run (id, organization_id) on update cascade,
    constraint unq_evaluation_metric_run_node_metric_created
    unique nulls not distinct (run_id, node_key, metric_name, created_at),
    constraint chk_evaluation_metric_metric_value check (abs(metric_value) < 'Infinity'),
    constraint chk_evaluation_metric_metric_name check (metric_name ~ '^[a-z][a-z0-9_.]*$')
);
create index idx_evaluation_metric_run_id_metric_name on ops.evaluation_metric (run_id, metric_name);
create index idx_evaluation_metric_created_at on ops.evaluation_metric (created_at);
create index idx_evaluation_metric_organization_id_created_at on ops.evaluation_metric (organization_id, created_at);
create trigger trg_evaluation_metric_organization before insert or update of run_id, organization_id
on ops.evaluation_metric
for each row execute function ops.inherit_organization('ops.workflow_run', 'run_id');

-- Mart source (see 002_change_tracking.sql): metric_timeseries counts each
-- evaluation metric in its own hour and organization.
select ops.track_mart_source(
    'evaluation_metric', 'ops.evaluation_metric', 'row.created_at', 'array[row.organization_id::text]',
    array['organization_id', 'metric_name', 'metric_value', 'created_at']
);
