-- ops: research experiments, analysis runs, their metrics, node results and
-- LLM-as-judge rubrics and scores.

create table ops.experiment (
    id uuid not null default gen_random_uuid(),
    organization_id uuid,
    name varchar(255) not null,
    hypothesis text,
    configuration jsonb not null default '{}'::jsonb,
    created_by uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_experiment primary key (id),
    constraint fk_experiment_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint fk_experiment_created_by foreign key (created_by)
    references core.users (id) on delete set null,
    constraint chk_experiment_configuration check (jsonb_typeof(configuration) = 'object')
);
create index idx_experiment_organization_id_created_at on ops.experiment (organization_id, created_at);
create index idx_experiment_created_by on ops.experiment (created_by);
create trigger trg_experiment_updated_at before update on ops.experiment
for each row execute function ops.set_updated_at();

create table ops.experiment_run (
    id uuid not null default gen_random_uuid(),
    experiment_id uuid not null,
    prompt_version text,
    framework_version text,
    -- text, not varchar(n): model names outgrow any limit we would pick.
    llm_model text not null,
    configuration jsonb not null default '{}'::jsonb,
    started_at timestamptz,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_experiment_run primary key (id),
    constraint fk_experiment_run_experiment_id foreign key (experiment_id)
    references ops.experiment (id) on delete cascade,
    constraint chk_experiment_run_finished_at check (finished_at >= started_at)
);
create index idx_experiment_run_experiment_id on ops.experiment_run (experiment_id);
create trigger trg_experiment_run_updated_at before update on ops.experiment_run
for each row execute function ops.set_updated_at();

create table ops.analysis_run (
    id uuid not null default gen_random_uuid(),
    -- NULL for anonymous runs.
    organization_id uuid,
    user_id uuid,
    prompt_id uuid,
    experiment_run_id uuid,
    llm_model text,
    status varchar(20) not null default 'queued',
    started_at timestamptz,
    finished_at timestamptz,
    meta jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_analysis_run primary key (id),
    constraint fk_analysis_run_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade,
    constraint fk_analysis_run_user_id foreign key (user_id)
    references core.users (id) on delete set null,
    constraint fk_analysis_run_prompt_id foreign key (prompt_id)
    references core.prompts (id) on delete set null,
    constraint fk_analysis_run_experiment_run_id foreign key (experiment_run_id)
    references ops.experiment_run (id) on delete set null,
    constraint chk_analysis_run_status
    check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    constraint chk_analysis_run_finished_at check (finished_at >= started_at),
    constraint chk_analysis_run_finished_needs_start check (finished_at is null or started_at is not null),
    constraint chk_analysis_run_meta check (jsonb_typeof(meta) = 'object'),
    -- what a child's (analysis_run_id, organization_id) refers to
    constraint unq_analysis_run_id_organization_id unique (id, organization_id)
);
create index idx_analysis_run_organization_id_started_at on ops.analysis_run (organization_id, started_at);
create index idx_analysis_run_started_at on ops.analysis_run (started_at);
create index idx_analysis_run_user_id on ops.analysis_run (user_id);
create index idx_analysis_run_prompt_id on ops.analysis_run (prompt_id);
create index idx_analysis_run_experiment_run_id on ops.analysis_run (experiment_run_id);
create trigger trg_analysis_run_updated_at before update on ops.analysis_run
for each row execute function ops.set_updated_at();

create table ops.analysis_metric (
    id bigint generated always as identity,
    analysis_run_id uuid not null,
    -- its run's (ops.inherit_organization fills it when left out)
    organization_id uuid,
    key varchar(100) not null,
    value_num numeric,
    value_text text,
    value_json jsonb,
    created_at timestamptz not null default now(),
    constraint pk_analysis_metric primary key (id),
    constraint fk_analysis_metric_analysis_run_id foreign key (analysis_run_id)
    references ops.analysis_run (id) on delete cascade,
    constraint fk_analysis_metric_analysis_run_id_organization_id foreign key (analysis_run_id, organization_id)
    references ops.analysis_run (id, organization_id) on update cascade,
    constraint chk_analysis_metric_has_value
    check (value_num is not null or value_text is not null or value_json is not null),
    -- NaN and infinities would poison every average downstream.
    constraint chk_analysis_metric_value_num check (abs(value_num) < 'Infinity'),
    constraint chk_analysis_metric_key check (key ~ '^[a-z][a-z0-9_.]*$')
);
create index idx_analysis_metric_analysis_run_id_key on ops.analysis_metric (analysis_run_id, key);
create index idx_analysis_metric_created_at on ops.analysis_metric (created_at);
create index idx_analysis_metric_organization_id_created_at on ops.analysis_metric (organization_id, created_at);
create trigger trg_analysis_metric_organization before insert or update of analysis_run_id, organization_id
on ops.analysis_metric
for each row execute function ops.inherit_organization('ops.analysis_run', 'analysis_run_id');

create table ops.analysis_node_result (
    id bigint generated always as identity,
    analysis_run_id uuid not null,
    node varchar(50) not null,
    status varchar(20) not null,
    score numeric,
    details jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    constraint pk_analysis_node_result primary key (id),
    constraint fk_analysis_node_result_analysis_run_id foreign key (analysis_run_id)
    references ops.analysis_run (id) on delete cascade,
    constraint chk_analysis_node_result_status check (status in ('ok', 'warn', 'fail', 'error')),
    constraint chk_analysis_node_result_score check (score between 0 and 10)
);
create index idx_analysis_node_result_analysis_run_id on ops.analysis_node_result (analysis_run_id);

create table ops.judge_rubric (
    id uuid not null default gen_random_uuid(),
    organization_id uuid,
    name varchar(255) not null,
    description text,
    meta jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_judge_rubric primary key (id),
    constraint fk_judge_rubric_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade
);
create index idx_judge_rubric_organization_id on ops.judge_rubric (organization_id);
create trigger trg_judge_rubric_updated_at before update on ops.judge_rubric
for each row execute function ops.set_updated_at();

create table ops.judge_criterion (
    id uuid not null default gen_random_uuid(),
    rubric_id uuid not null,
    key varchar(100) not null,
    title varchar(255) not null,
    description text,
    weight numeric not null default 1.0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_judge_criterion primary key (id),
    constraint fk_judge_criterion_rubric_id foreign key (rubric_id)
    references ops.judge_rubric (id) on delete cascade,
    constraint unq_judge_criterion_rubric_key unique (rubric_id, key),
    constraint chk_judge_criterion_weight check (weight > 0 and weight < 'Infinity'),
    constraint chk_judge_criterion_key check (key ~ '^[a-z][a-z0-9_.]*$')
);
create trigger trg_judge_criterion_updated_at before update on ops.judge_criterion
for each row execute function ops.set_updated_at();

create table ops.judge_score (
    id bigint generated always as identity,
    analysis_run_id uuid not null,
    -- its run's (ops.inherit_organization fills it when left out)
    organization_id uuid,
    criterion_id uuid not null,
    score numeric not null,
    comment text,
    evidence jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint pk_judge_score primary key (id),
    constraint fk_judge_score_analysis_run_id foreign key (analysis_run_id)
    references ops.analysis_run (id) on delete cascade,
    constraint fk_judge_score_analysis_run_id_organization_id foreign key (analysis_run_id, organization_id)
    references ops.analysis_run (id, organization_id) on update cascade,
    constraint fk_judge_score_criterion_id foreign key (criterion_id)
    references ops.judge_criterion (id) on delete restrict,
    constraint chk_judge_score_score check (score between 0 and 10)
);
create index idx_judge_score_analysis_run_id on ops.judge_score (analysis_run_id);
create index idx_judge_score_criterion_id on ops.judge_score (criterion_id);
create index idx_judge_score_created_at on ops.judge_score (created_at);
create index idx_judge_score_organization_id_created_at on ops.judge_score (organization_id, created_at);
create trigger trg_judge_score_organization before insert or update of analysis_run_id, organization_id
on ops.judge_score
for each row execute function ops.inherit_organization('ops.analysis_run', 'analysis_run_id');
create trigger trg_judge_score_updated_at before update on ops.judge_score
for each row execute function ops.set_updated_at();

-- Mart sources (see 002_change_tracking.sql). analysis_daily counts a run,
-- its metrics and its judge scores in the run's day and organization;
-- metric_timeseries counts each metric and judge score in its own hour and
-- organization (a judge score under its criterion's key: a criterion's new key
-- moves its scores).
select ops.track_mart_source(
    'analysis_run', 'ops.analysis_run', 'row.started_at', 'array[row.organization_id::text]',
    array['organization_id', 'status', 'started_at', 'finished_at']
);
select ops.track_mart_source(
    'analysis_run', 'ops.analysis_metric',
    '(select r.started_at from ops.analysis_run as r where r.id = row.analysis_run_id)',
    'array[row.organization_id::text]',
    array['analysis_run_id', 'organization_id', 'key', 'value_num']
);
select ops.track_mart_source(
    'analysis_run', 'ops.judge_score',
    '(select r.started_at from ops.analysis_run as r where r.id = row.analysis_run_id)',
    'array[row.organization_id::text]',
    array['analysis_run_id', 'organization_id', 'score']
);
select ops.track_mart_source(
    'analysis_metric', 'ops.analysis_metric', 'row.created_at', 'array[row.organization_id::text]',
    array['organization_id', 'key', 'value_num', 'created_at']
);
select ops.track_mart_source(
    'judge_score', 'ops.judge_score', 'row.created_at', 'array[row.organization_id::text]',
    array['organization_id', 'criterion_id', 'score', 'created_at']
);
select ops.track_mart_parent(
    'judge_score', 'ops.judge_criterion', array['key'], 'ops.judge_score',
    'row.criterion_id = parent.id', 'row.created_at', 'array[row.organization_id::text]'
);
