-- The copied workflow runs, moved in time.
insert into ops.workflow_run (
    id, organization_id, user_id, status, started_at, finished_at, meta, created_at, updated_at
)
select
    n.new_id,
    w.organization_id,
    w.user_id,
    w.status,
    w.started_at + n.shift as started_at,
    w.finished_at + n.shift as finished_at,
    w.meta,
    w.created_at + n.shift as created_at,
    %(now)s as updated_at
from bench_new_workflows as n
inner join ops.workflow_run as w on n.old_id = w.id
