-- mart.feature_daily by hand: events and distinct users per organization, UTC day and feature.
create table bench_baseline.feature_daily as
select
    organization_id,
    (occurred_at at time zone 'UTC')::date as day,
    feature_key::text as feature_key,
    count(*) as events,
    count(distinct user_id) as unique_users
from ops.event
group by 1, 2, 3
