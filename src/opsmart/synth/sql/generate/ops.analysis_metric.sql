-- Every succeeded run's metrics (vocabulary run_metrics), written when it finished. The
-- metrics come from a set-returning function in the select list, so they follow their
-- run in scan order whatever plan the server picks: identity ids are deterministic.
select
    m.id as analysis_run_id,
    m.organization_id,
    m.key,
    pg_temp.metric_value(m.key, m.i, m.overall) as value_num,
    m.finished_at as created_at
from (
    select
        r.*,
        unnest(%(run_metrics)s::text[]) as key
    from pg_temp.synth_runs as r
    where r.status = 'succeeded'
) as m
