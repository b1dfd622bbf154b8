-- The runs production updates: the most recently started (%(runs)s of them; NULL: one
-- in every modulus).
create temporary table bench_picked_runs on commit drop as
select r.id
from ops.analysis_run as r
where r.started_at is not null
order by r.started_at desc, r.id asc
limit coalesce(
    %(runs)s::bigint,
    (select ceil(count(every_run.id)::numeric / %(modulus)s)::bigint from ops.analysis_run as every_run)
)
