-- One organization's chat messages per day over the last 30 days.
select
    day,
    sample_count as messages
from {{ ref('metric_daily') }}
where
    organization_id = {{ opsmart_param('org') }} and metric_key = 'conversation.messages'
    and day >= {{ opsmart_param('since_30d') }}
order by day
