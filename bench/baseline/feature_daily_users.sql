-- mart.feature_daily_users by hand: events per organization, UTC day, feature and user.
create table bench_baseline.feature_daily_users as
select
    organization_id,
    (occurred_at at time zone 'UTC')::date as day,
    feature_key::text as feature_key,
    user_id,
    count(*) as events
from ops.event
where user_id is not null
group by 1, 2, 3, 4
