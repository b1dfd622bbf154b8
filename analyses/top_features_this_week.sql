-- The ten most used features of the last 7 days, all organizations (one row a feature and day).
select
    feature_key,
    sum(events) as events
from {{ ref('feature_daily_platform') }}
where day >= {{ opsmart_param('since_7d') }}
group by feature_key
order by events desc, feature_key asc
limit 10
