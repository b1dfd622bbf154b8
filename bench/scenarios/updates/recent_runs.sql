-- The runs production updates: the most recently started (%(runs)s of them; NULL: one
-- in every modulus). Ranked, not LIMIT (subquery): Citus allows no subquery in LIMIT.
create temporary table bench_picked_runs on commit drop as
with
wanted as materialized (
    select
        coalesce(
            %(runs)s::bigint,
            ceil(count(every_run.id)::numeric / %(modulus)s)::bigint
        ) as n
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
inner join wanted on ranked.rank <= wanted.n
