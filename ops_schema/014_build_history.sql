-- Build history: every dbt run against this database (opsmart build, plain
-- dbt build, source freshness, a scheduler) records itself here through the
-- project's on-run-end hook (macros/history/record_build.sql), as dbt_artifacts
-- does for dbt Cloud users: what ran, when, how it ended, per node its time,
-- rows and the buckets and groups an incremental mart rebuilt, per source its
-- freshness. The transformer writes it; analysts read it as mart.build_history.

create table ops.build_run (
    invocation_id uuid not null,
    command varchar(40) not null,
    target_schema name not null,
    started_at timestamptz not null,
    ended_at timestamptz not null default now(),
    status varchar(10) not null,
    dbt_version varchar(40) not null,
    login name not null default session_user,
    nodes integer not null,
    errors integer not null,
    warnings integer not null,
    constraint pk_build_run primary key (invocation_id),
    constraint chk_build_run_status check (status in ('success', 'error')),
    constraint chk_build_run_ended_at check (ended_at >= started_at),
    constraint chk_build_run_counts check (nodes >= 0 and errors >= 0 and warnings >= 0)
);
create index idx_build_run_started_at on ops.build_run (started_at);
comment on table ops.build_run is 'One row per dbt invocation against this database (on-run-end hook).';

create table ops.build_node (
    invocation_id uuid not null,
    unique_id text not null,
    name text not null,
    resource_type varchar(20) not null,
    status varchar(20) not null,
    started_at timestamptz,
    completed_at timestamptz,
    execution_seconds double precision not null,
    rows_affected bigint,
    failures bigint,
    message text,
    is_full_refresh boolean,
    buckets_rebuilt bigint,
    groups_rebuilt bigint,
    constraint pk_build_node primary key (invocation_id, unique_id),
    constraint fk_build_node_invocation_id foreign key (invocation_id)
    references ops.build_run (invocation_id) on delete cascade,
    constraint chk_build_node_execution_seconds check (execution_seconds >= 0)
);
comment on table ops.build_node is
'Per dbt invocation and node (model, test, hook, source): status, timing, rows; for a mart, what it rebuilt.';

create table ops.build_freshness (
    invocation_id uuid not null,
    source_name text not null,
    table_name text not null,
    status varchar(10) not null,
    max_loaded_at timestamptz,
    snapshotted_at timestamptz,
    age_seconds double precision,
    constraint pk_build_freshness primary key (invocation_id, source_name, table_name),
    constraint fk_build_freshness_invocation_id foreign key (invocation_id)
    references ops.build_run (invocation_id) on delete cascade
);
comment on table ops.build_freshness is 'Per dbt source freshness invocation and source table: its freshness.';
