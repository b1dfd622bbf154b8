-- Change tracking for the incremental marts.
--
-- A mart build recomputes exactly the UTC hours (or days) whose source rows
-- changed since the snapshot its previous build started from. Two records
-- say which those are, both tied to the writing transaction, never to a
-- clock, so a transaction that commits while a build runs is picked up by the
-- next build:
--
-- * inserts: every mart source row carries change_xid, the id of the
--   transaction that inserted it (a column default, BRIN-indexed: a build
--   finds the rows its previous snapshot could not see by scanning only the
--   newest blocks). This keeps the cost of an insert, the platform's hot
--   path, to a default value and a BRIN entry.
-- * updates and deletes: statement-level triggers write the hours of the old
--   (and new) rows into ops.mart_change_log, in the writer's transaction, each
--   row stamped with its transaction id.
--
-- ops.mart_build_state holds, per target schema and mart, the snapshot its
-- last build started from.

create table ops.mart_change_log (
    source varchar(63) not null,
    bucket timestamptz not null,
    xid xid8 not null default pg_current_xact_id(),
    logged_at timestamptz not null default now()
);
create index idx_mart_change_log_xid on ops.mart_change_log (xid);
comment on table ops.mart_change_log is
'UTC hours touched by updates and deletes of mart sources, stamped with the writing transaction id.';
comment on column ops.mart_change_log.source is 'Logical source: the ops table whose rows changed.';
comment on column ops.mart_change_log.bucket is 'Start of the UTC hour whose rows changed.';

create table ops.mart_build_state (
    target_schema name not null,
    model name not null,
    snapshot pg_snapshot not null,
    built_at timestamptz not null default now(),
    is_full_refresh boolean not null,
    buckets_rebuilt bigint,
    constraint pk_mart_build_state primary key (target_schema, model)
);
comment on table ops.mart_build_state is
'Per mart: the snapshot its last build started from; change log rows visible to it are done.';

-- Logs the hours of tg_argv[1] for source tg_argv[0] from the transition tables
-- of an update or delete.
create or replace function ops.log_mart_changes() returns trigger
language plpgsql as $$
declare
    changed_rows text;
begin
    changed_rows := case tg_op
        when 'DELETE' then 'select * from old_rows'
        else 'select * from new_rows union all select * from old_rows'
    end;
    execute format(
        'insert into ops.mart_change_log (source, bucket) '
        'select distinct %L, date_trunc(''hour'', c.%I, ''UTC'') from (%s) as c where c.%I is not null',
        tg_argv[0], tg_argv[1], changed_rows, tg_argv[1]);
    return null;
end
$$;

-- For rows that belong to an analysis run (metrics, judge scores): also logs
-- the run's own hour, which is where analysis_daily counts them. A run deleted
-- in the same statement logged its hour itself.
create or replace function ops.log_mart_run_child_changes() returns trigger
language plpgsql as $$
declare
    changed_rows text;
begin
    changed_rows := case tg_op
        when 'DELETE' then 'select analysis_run_id from old_rows'
        else 'select analysis_run_id from new_rows union select analysis_run_id from old_rows'
    end;
    execute format(
        'insert into ops.mart_change_log (source, bucket) '
        'select distinct ''analysis_run'', date_trunc(''hour'', r.started_at, ''UTC'') '
        'from ops.analysis_run as r where r.started_at is not null and r.id in (%s)',
        changed_rows);
    return null;
end
$$;

-- When a parent row changes a column its children's buckets depend on (an
-- organization, a criterion key), logs the children's hours.
-- tg_argv: column compared, child source, child table, child key column, child time column.
create or replace function ops.log_mart_rekey_changes() returns trigger
language plpgsql as $$
begin
    execute format(
        'insert into ops.mart_change_log (source, bucket) '
        'select distinct %L, date_trunc(''hour'', c.%I, ''UTC'') '
        'from old_rows as o join new_rows as n on n.id = o.id '
        'join %s as c on c.%I = o.id '
        'where o.%I is distinct from n.%I',
        tg_argv[1], tg_argv[4], tg_argv[2], tg_argv[3], tg_argv[0], tg_argv[0]);
    return null;
end
$$;

-- The inserting transaction of every mart source row.
alter table ops.event add column change_xid bigint not null default pg_current_xact_id()::text::bigint;
create index idx_event_change_xid on ops.event using brin (change_xid);
alter table ops.analysis_run add column change_xid bigint not null default pg_current_xact_id()::text::bigint;
create index idx_analysis_run_change_xid on ops.analysis_run using brin (change_xid);
alter table ops.analysis_metric add column change_xid bigint not null default pg_current_xact_id()::text::bigint;
create index idx_analysis_metric_change_xid on ops.analysis_metric using brin (change_xid);
alter table ops.judge_score add column change_xid bigint not null default pg_current_xact_id()::text::bigint;
create index idx_judge_score_change_xid on ops.judge_score using brin (change_xid);
alter table ops.evaluation_metric add column change_xid bigint not null default pg_current_xact_id()::text::bigint;
create index idx_evaluation_metric_change_xid on ops.evaluation_metric using brin (change_xid);
alter table ops.message add column change_xid bigint not null default pg_current_xact_id()::text::bigint;
create index idx_message_change_xid on ops.message using brin (change_xid);
alter table ops.query_performance_log add column change_xid bigint not null default pg_current_xact_id()::text::bigint;
create index idx_query_performance_log_change_xid on ops.query_performance_log using brin (change_xid);
comment on column ops.event.change_xid is 'Id of the transaction that inserted the row (for incremental marts).';

-- Updates and deletes: one trigger per operation (a trigger with transition
-- tables serves one event).
create trigger trg_event_mart_update after update on ops.event
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_changes('event', 'occurred_at');
create trigger trg_event_mart_delete after delete on ops.event
referencing old table as old_rows
for each statement execute function ops.log_mart_changes('event', 'occurred_at');

create trigger trg_analysis_run_mart_update after update on ops.analysis_run
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_changes('analysis_run', 'started_at');
create trigger trg_analysis_run_mart_delete after delete on ops.analysis_run
referencing old table as old_rows
for each statement execute function ops.log_mart_changes('analysis_run', 'started_at');
create trigger trg_analysis_run_mart_rekey_metric after update on ops.analysis_run
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_rekey_changes(
    'organization_id', 'analysis_metric', 'ops.analysis_metric', 'analysis_run_id', 'created_at');
create trigger trg_analysis_run_mart_rekey_judge after update on ops.analysis_run
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_rekey_changes(
    'organization_id', 'judge_score', 'ops.judge_score', 'analysis_run_id', 'created_at');

create trigger trg_analysis_metric_mart_update after update on ops.analysis_metric
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_changes('analysis_metric', 'created_at');
create trigger trg_analysis_metric_mart_delete after delete on ops.analysis_metric
referencing old table as old_rows
for each statement execute function ops.log_mart_changes('analysis_metric', 'created_at');
create trigger trg_analysis_metric_mart_run_update after update on ops.analysis_metric
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_run_child_changes();
create trigger trg_analysis_metric_mart_run_delete after delete on ops.analysis_metric
referencing old table as old_rows
for each statement execute function ops.log_mart_run_child_changes();

create trigger trg_judge_score_mart_update after update on ops.judge_score
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_changes('judge_score', 'created_at');
create trigger trg_judge_score_mart_delete after delete on ops.judge_score
referencing old table as old_rows
for each statement execute function ops.log_mart_changes('judge_score', 'created_at');
create trigger trg_judge_score_mart_run_update after update on ops.judge_score
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_run_child_changes();
create trigger trg_judge_score_mart_run_delete after delete on ops.judge_score
referencing old table as old_rows
for each statement execute function ops.log_mart_run_child_changes();

create trigger trg_judge_criterion_mart_rekey after update on ops.judge_criterion
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_rekey_changes(
    'key', 'judge_score', 'ops.judge_score', 'criterion_id', 'created_at');

create trigger trg_evaluation_metric_mart_update after update on ops.evaluation_metric
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_changes('evaluation_metric', 'created_at');
create trigger trg_evaluation_metric_mart_delete after delete on ops.evaluation_metric
referencing old table as old_rows
for each statement execute function ops.log_mart_changes('evaluation_metric', 'created_at');
create trigger trg_workflow_run_mart_rekey after update on ops.workflow_run
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_rekey_changes(
    'organization_id', 'evaluation_metric', 'ops.evaluation_metric', 'run_id', 'created_at');

create trigger trg_message_mart_update after update on ops.message
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_changes('message', 'ts');
create trigger trg_message_mart_delete after delete on ops.message
referencing old table as old_rows
for each statement execute function ops.log_mart_changes('message', 'ts');
create trigger trg_chat_session_mart_rekey after update on ops.chat_session
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_rekey_changes(
    'organization_id', 'message', 'ops.message', 'session_id', 'ts');

create trigger trg_query_performance_log_mart_update after update on ops.query_performance_log
referencing new table as new_rows old table as old_rows
for each statement execute function ops.log_mart_changes('query_performance_log', 'measured_at');
create trigger trg_query_performance_log_mart_delete after delete on ops.query_performance_log
referencing old table as old_rows
for each statement execute function ops.log_mart_changes('query_performance_log', 'measured_at');

-- TRUNCATE has no transition tables: refuse it on mart sources rather than let
-- the marts silently diverge (delete, which is logged, still works).
create or replace function ops.refuse_truncate() returns trigger
language plpgsql as $$
begin
    raise exception 'truncate of %.% is refused: marts track deletes, use delete', tg_table_schema, tg_table_name
        using errcode = 'feature_not_supported';
end
$$;
create trigger trg_event_no_truncate before truncate on ops.event
for each statement execute function ops.refuse_truncate();
create trigger trg_analysis_run_no_truncate before truncate on ops.analysis_run
for each statement execute function ops.refuse_truncate();
create trigger trg_analysis_metric_no_truncate before truncate on ops.analysis_metric
for each statement execute function ops.refuse_truncate();
create trigger trg_judge_score_no_truncate before truncate on ops.judge_score
for each statement execute function ops.refuse_truncate();
create trigger trg_evaluation_metric_no_truncate before truncate on ops.evaluation_metric
for each statement execute function ops.refuse_truncate();
create trigger trg_message_no_truncate before truncate on ops.message
for each statement execute function ops.refuse_truncate();
create trigger trg_query_performance_log_no_truncate before truncate on ops.query_performance_log
for each statement execute function ops.refuse_truncate();
