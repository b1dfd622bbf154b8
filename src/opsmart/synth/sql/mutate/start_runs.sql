-- Half of the queued runs start, within the last five minutes.
update ops.analysis_run
set
    status = 'running',
    started_at = greatest(
        created_at, %(now)s::timestamptz - interval '5 minutes' * pg_temp.uh(id::text, 'victim.start_time')
    )
where id in (
    select r.id from ops.analysis_run as r
    where r.status = 'queued'
    order by pg_temp.uh(r.id::text, 'victim.run_started')
    limit (
        select ceil(count(*) / 2.0) from ops.analysis_run as q
        where q.status = 'queued'
    )
)
