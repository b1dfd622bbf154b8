-- The new succeeded runs' metrics; their organization is left to the trigger that
-- copies it from the run, as an application that does not know it would.
insert into ops.analysis_metric (analysis_run_id, key, value_num, created_at)
select
    r.id as analysis_run_id,
    m.key,
    pg_temp.metric_value(m.key, r.k, r.overall) as value_num,
    r.finished_at as created_at
from mutate_run as r
cross join unnest(%(run_metrics)s::text[]) with ordinality as m (key, n)
where r.status = 'succeeded'
order by r.k, m.n
