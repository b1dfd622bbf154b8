-- The pipeline nodes' results (vocabulary analysis_nodes, node k keyed run * child_keys + k)
-- of a quarter of the finished runs, in run order; a failed run's last node is the one
-- that errored.
select
    n.id as analysis_run_id,
    n.organization_id,
    n.node,
    case
        when n.status = 'failed' and n.k = cardinality(%(analysis_nodes)s::text[]) then 'error'
        when pg_temp.u(n.i * %(child_keys)s + n.k, 'analysis_node_result.status') < 0.8 then 'ok'
        when pg_temp.u(n.i * %(child_keys)s + n.k, 'analysis_node_result.status') < 0.95 then 'warn'
        else 'fail'
    end as status,
    case
        when n.status = 'succeeded'
            then pg_temp.score05(n.overall + pg_temp.z(n.i * %(child_keys)s + n.k, 'analysis_node_result.score'))
    end as score,
    '{}'::jsonb as details,
    n.finished_at as created_at
from (
    select
        r.*,
        unnest(%(analysis_nodes)s::text[]) as node,
        generate_series(1, cardinality(%(analysis_nodes)s::text[])) as k
    from pg_temp.synth_runs as r
    where r.finished_at is not null and pg_temp.u(r.i, 'analysis_node_result.kept') < 0.25
) as n
