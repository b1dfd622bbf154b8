-- The picked runs move on: running ones finish, outcomes flip.
-- The new values come from a subquery, fenced by offset 0 so that it is not pulled
-- up into the SET list: Citus refuses a STABLE function over a column (here
-- timestamptz + interval) in the SET of a multi-shard UPDATE. (The order only
-- satisfies the linter: offset without order.)
update ops.analysis_run as r
set
    status = v.status,
    finished_at = v.finished_at
from (
    select
        picked.id,
        case when picked.status = 'succeeded' then 'failed' else 'succeeded' end as status,
        coalesce(picked.finished_at, picked.started_at + interval '90 seconds') as finished_at
    from ops.analysis_run as picked
    where picked.id in (select bench_picked_runs.id from bench_picked_runs)
    order by picked.id
    offset 0
) as v
where r.id = v.id
