-- The copied runs' metrics.
-- organization_id given (a run copy keeps its organization): on Citus the
-- distribution column must be in the statement, not filled by a trigger.
insert into ops.analysis_metric (
    analysis_run_id, organization_id, key, value_num, value_text, value_json, created_at
)
select
    n.new_id,
    m.organization_id,
    m.key,
    m.value_num,
    m.value_text,
    m.value_json,
    m.created_at + n.shift as created_at
from bench_new_runs as n
inner join ops.analysis_metric as m on n.old_id = m.analysis_run_id
