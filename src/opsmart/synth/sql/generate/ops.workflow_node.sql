-- Nodes (vocabulary workflow_nodes, node k keyed run * child_keys + k) run in sequence: a
-- running run is in its second node, a failed one failed in its last, a cancelled one
-- stopped after its first. The nodes come from set-returning functions in the select
-- list, so they follow their run in scan order.
with

nodes as (
    select
        w.*,
        unnest(%(workflow_nodes)s::text[]) as key,
        generate_series(1, cardinality(%(workflow_nodes)s::text[])) as k,
        cardinality(%(workflow_nodes)s::text[]) as nodes
    from pg_temp.synth_workflows as w
),

states as (
    select
        n.*,
        case n.status
            when 'running' then case when n.k = 1 then 'success' when n.k = 2 then 'running' else 'pending' end
            when 'failed' then case when n.k = n.nodes then 'failed' else 'success' end
            when 'cancelled' then case when n.k = 1 then 'success' else 'pending' end
            else 'success'
        end as node_status,
        least(n.started_at + n.duration * (n.k - 1) / n.nodes, %(anchor)s::timestamptz) as t0,
        least(n.started_at + n.duration * n.k / n.nodes, %(anchor)s::timestamptz) as t1
    from nodes as n
)

select
    pg_temp.id('workflow_node', s.i * %(child_keys)s + s.k) as id,
    s.id as run_id,
    s.organization_id,
    s.key,
    s.node_status as status,
    case when s.node_status != 'pending' then s.t0 end as started_at,
    case when s.node_status in ('success', 'failed') then s.t1 end as finished_at,
    case when s.node_status = 'success' then jsonb_build_object('tokens', 100 * s.k) end as result,
    s.started_at as created_at,
    coalesce(s.finished_at, s.started_at) as updated_at
from states as s
