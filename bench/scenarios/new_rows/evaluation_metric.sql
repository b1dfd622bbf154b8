-- The copied workflow runs' evaluation metrics.
insert into ops.evaluation_metric (
    run_id, organization_id, node_key, metric_name, metric_value, metric_meta, created_at
)
select
    n.new_id,
    e.organization_id,
    e.node_key,
    e.metric_name,
    e.metric_value,
    e.metric_meta,
    e.created_at + n.shift as created_at
from bench_new_workflows as n
inner join ops.evaluation_metric as e on n.old_id = e.run_id
