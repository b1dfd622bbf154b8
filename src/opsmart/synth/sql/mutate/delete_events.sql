-- A tenth of the fraction of events goes.
delete from ops.event
where (id, occurred_at) in (
    select
        e.id,
        e.occurred_at
    from ops.event as e
    order by pg_temp.uh(e.id::text, 'victim.event')
    limit greatest(1, round(%(fraction)s / 10 * %(events)s))
)
