-- The analysis runs to copy (every modulus-th by a hash of the id, at most %(runs)s),
-- each with its new id and how far its times move.
create temporary table bench_new_runs on commit drop as
select
    r.id as old_id,
    gen_random_uuid() as new_id,
    public.bench_moment(r.k, %(modulus)s, %(now)s, %(late)s)
    - coalesce(r.finished_at, r.started_at, r.created_at) as shift
from (
    select
        id,
        started_at,
        finished_at,
        created_at,
        abs(hashtextextended(id::text, 11)) as k
    from ops.analysis_run
) as r
where mod(r.k, %(modulus)s) = 0
order by r.k
limit %(runs)s
