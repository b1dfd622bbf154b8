-- One organization's chat messages per day over the last 30 days.
select
    (ts_bucket at time zone 'UTC')::date as day,
    sum(sample_count) as messages
from mart.metric_timeseries
where
    organization_id = %(org)s and metric_key = 'conversation.messages'
    and ts_bucket >= %(since_30d)s::timestamp at time zone 'UTC'
group by 1
order by 1
