-- One run in every modulus, picked by a hash of its id across the whole history.
create temporary table bench_picked_runs on commit drop as
select id
from ops.analysis_run
where started_at is not null and mod(abs(hashtextextended(id::text, 13)), %(modulus)s) = 0
