-- One organization's feature usage per day over the last 30 days.
select
    day,
    feature_key,
    events,
    unique_users
from {{ ref('feature_daily') }}
where organization_id = {{ opsmart_param('org') }} and day >= {{ opsmart_param('since_30d') }}
order by day, feature_key
