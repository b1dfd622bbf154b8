-- The picked runs move on: running ones finish, outcomes flip.
update ops.analysis_run
set
    status = case when status = 'succeeded' then 'failed' else 'succeeded' end,
    finished_at = coalesce(finished_at, started_at + interval '90 seconds')
where id in (select bench_picked_runs.id from bench_picked_runs)
