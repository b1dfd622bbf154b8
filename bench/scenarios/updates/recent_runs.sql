-- The runs production updates: the most recently started (%(runs)s of them; NULL: one
-- in every modulus). Ranked, not LIMIT (subquery): Citus allows no subquery in LIMIT.
-- The count stays an aggregate whatever %(runs)s is (Citus plans coalesce(100, count(*))
-- folded to 100, one row per run), and the rank is compared with it once: as a join
-- with that one-row-per-run result, the pick took minutes of coordinator CPU at S.
create temporary table bench_picked_runs on commit drop as
with
wanted as materialized (
    select ceil(count(every_run.id)::numeric / %(modulus)s)::bigint as n
    from ops.analysis_run as every_run
),

ranked as materialized (
    select
        r.id,
        row_number() over (order by r.started_at desc, r.id asc) as rank
    from ops.analysis_run as r
    where r.started_at is not null
)

select ranked.id
from ranked
where ranked.rank <= coalesce(%(runs)s::bigint, (select wanted.n from wanted))
