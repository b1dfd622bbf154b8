-- ops: the query performance log and the append-only audit log.

create table ops.query_performance_log (
    id bigint generated always as identity,
    -- A fingerprint of the query, never its literal text (which may hold personal data).
    query_name varchar(200) not null,
    endpoint varchar(200),
    organization_id uuid,
    duration_ms double precision not null,
    rows_returned integer,
    ok boolean not null default true,
    measured_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    constraint pk_query_performance_log primary key (id),
    constraint fk_query_performance_log_organization_id foreign key (organization_id)
    references ops.organization (id) on delete set null,
    constraint chk_query_performance_log_duration_ms check (duration_ms >= 0 and duration_ms < 'Infinity'),
    constraint chk_query_performance_log_rows_returned check (rows_returned >= 0),
    constraint chk_query_performance_log_measured_at check (isfinite(measured_at))
);
create index idx_query_performance_log_organization_id_measured_at
on ops.query_performance_log (organization_id, measured_at);
create index idx_query_performance_log_measured_at on ops.query_performance_log (measured_at);
create index idx_query_performance_log_query_name_measured_at
on ops.query_performance_log (query_name, measured_at);

-- Append-only: the audit trail outlives the users and organizations it names,
-- so actor and organization are plain columns, not foreign keys (a cascading
-- key would have to update or delete audit rows).
create table ops.audit_log (
    id bigint generated always as identity,
    ts timestamptz not null default now(),
    actor_user_id uuid,
    organization_id uuid,
    action varchar(100) not null,
    entity_type varchar(100) not null,
    entity_id varchar(255) not null,
    before_state jsonb,
    after_state jsonb,
    created_at timestamptz not null default now(),
    constraint pk_audit_log primary key (id),
    constraint chk_audit_log_action check (length(btrim(action)) > 0)
);
create index idx_audit_log_organization_id_ts on ops.audit_log (organization_id, ts);
create index idx_audit_log_actor_user_id on ops.audit_log (actor_user_id);
create index idx_audit_log_entity on ops.audit_log (entity_type, entity_id);

create or replace function ops.refuse_audit_log_change() returns trigger
language plpgsql as $$
begin
    raise exception 'ops.audit_log is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege',
              constraint = 'audit_log_append_only';
end
$$;

create trigger trg_audit_log_append_only
before update or delete on ops.audit_log
for each row execute function ops.refuse_audit_log_change();
create trigger trg_audit_log_no_truncate
before truncate on ops.audit_log
for each statement execute function ops.refuse_audit_log_change();

-- Mart source (see 002_change_tracking.sql): the performance dashboard has
-- no organization and groups timings by query name.
select ops.track_mart_source(
    'query_performance_log', 'ops.query_performance_log', 'row.measured_at', 'array[row.query_name::text]',
    array['query_name', 'duration_ms', 'ok', 'measured_at']
);
