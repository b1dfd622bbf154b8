-- The smallest organization that still has events (ties broken by hash); never the last one.
select
    o.id,
    count(e.id) as events
from ops.organization as o
inner join ops.event as e on o.id = e.organization_id
where (select count(*) from ops.organization) > 1
group by o.id
order by events, pg_temp.uh(o.id::text, 'victim.organization')
limit 1
