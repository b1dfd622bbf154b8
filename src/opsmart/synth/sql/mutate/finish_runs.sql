-- Half of the running runs finish: most succeed, within the last two minutes.
update ops.analysis_run
set
    status = case when pg_temp.uh(id::text, 'victim.finish_status') < 0.85 then 'succeeded' else 'failed' end,
    finished_at = greatest(
        started_at, %(now)s::timestamptz - interval '2 minutes' * pg_temp.uh(id::text, 'victim.finish_time')
    )
where id in (
    select r.id from ops.analysis_run as r
    where r.status = 'running'
    order by pg_temp.uh(r.id::text, 'victim.run_finished')
    limit (
        select ceil(count(*) / 2.0) from ops.analysis_run as q
        where q.status = 'running'
    )
)
