-- The ten most used features of the last 7 days, all organizations.
select
    feature_key::text as feature_key,
    count(*) as events
from ops.event
where occurred_at >= %(since_7d)s::timestamp at time zone 'UTC'
group by 1
order by 2 desc, 1 asc
limit 10
