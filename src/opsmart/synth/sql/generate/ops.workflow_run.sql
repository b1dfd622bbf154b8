-- Workflow runs (pg_temp.synth_workflows).
select
    w.id,
    w.organization_id,
    w.user_id,
    w.status,
    w.started_at,
    w.finished_at,
    jsonb_build_object('graph', pg_temp.pick(%(workflow_graphs)s, pg_temp.u(w.i, 'workflow_run.graph'))) as meta,
    w.started_at as created_at,
    coalesce(w.finished_at, w.started_at) as updated_at
from pg_temp.synth_workflows as w
