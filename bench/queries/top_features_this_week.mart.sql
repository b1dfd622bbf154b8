-- The ten most used features of the last 7 days, all organizations.
select
    feature_key,
    sum(events) as events
from mart.feature_daily
where day >= %(since_7d)s
group by feature_key
order by events desc, feature_key asc
limit 10
