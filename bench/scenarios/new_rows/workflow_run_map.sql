-- The workflow runs to copy (every modulus-th by a hash of the id, at most
-- %(workflow_runs)s), each with its new id and how far its times move.
create temporary table bench_new_workflows on commit drop as
select
    w.id as old_id,
    gen_random_uuid() as new_id,
    public.bench_moment(w.k, %(modulus)s, %(now)s, %(late)s)
    - coalesce(w.finished_at, w.started_at) as shift
from (
    select
        id,
        started_at,
        finished_at,
        abs(hashtextextended(id::text, 12)) as k
    from ops.workflow_run
) as w
where mod(w.k, %(modulus)s) = 0
order by w.k
limit %(workflow_runs)s
