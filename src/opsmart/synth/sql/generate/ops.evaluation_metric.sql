-- A finished workflow run's evaluation metrics (vocabulary evaluation_metrics, each with its
-- node; metric n keyed run * child_keys + n), in run order: latency is the run's duration,
-- the scores lean towards 1.
select
    m.id as run_id,
    m.organization_id,
    m.node_key,
    m.name as metric_name,
    case m.name
        when 'latency_s' then round(extract(epoch from m.duration)::numeric, 3)::double precision
        else round(
            power(pg_temp.u(m.i * %(child_keys)s + m.n, 'evaluation_metric.value'), 0.35)::numeric, 4
        )::double precision
    end as metric_value,
    case when m.name = 'faithfulness' then jsonb_build_object('evaluator', 'ragas') end as metric_meta,
    m.finished_at as created_at
from (
    select
        w.*,
        unnest(%(evaluation_metrics)s::text[]) as name,
        unnest(%(evaluation_nodes)s::text[]) as node_key,
        generate_series(1, cardinality(%(evaluation_metrics)s::text[])) as n
    from pg_temp.synth_workflows as w
    where w.status in ('success', 'failed')
) as m
