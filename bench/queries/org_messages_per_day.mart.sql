-- One organization's chat messages per day over the last 30 days.
select
    day,
    sample_count as messages
from mart.metric_daily
where
    organization_id = %(org)s and metric_key = 'conversation.messages'
    and day >= %(since_30d)s
order by day
