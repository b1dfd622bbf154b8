-- One organization's chat messages per day over the last 30 days.
select
    (m.ts at time zone 'UTC')::date as day,
    count(*) as messages
from ops.message as m
inner join ops.chat_session as s on m.session_id = s.id
where s.organization_id = %(org)s and m.ts >= %(since_30d)s::timestamp at time zone 'UTC'
group by 1
order by 1
