-- One organization's feature usage per day over the last 30 days.
select
    day,
    feature_key,
    events,
    unique_users
from mart.feature_daily
where organization_id = %(org)s and day >= %(since_30d)s
order by day, feature_key
