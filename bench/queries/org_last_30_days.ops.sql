-- One organization's feature usage per day over the last 30 days.
select
    (occurred_at at time zone 'UTC')::date as day,
    feature_key::text as feature_key,
    count(*) as events,
    count(distinct user_id) as unique_users
from ops.event
where organization_id = %(org)s and occurred_at >= %(since_30d)s::timestamp at time zone 'UTC'
group by 1, 2
order by 1, 2
