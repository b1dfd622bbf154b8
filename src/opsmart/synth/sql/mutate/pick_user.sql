-- A user with events, to purge.
select u.id
from core.users as u
where
    exists (
        select from ops.event as e
        where e.user_id = u.id
    )
order by pg_temp.uh(u.id::text, 'victim.user')
limit 1
