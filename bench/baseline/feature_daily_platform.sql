-- mart.feature_daily_platform by hand: bench_baseline.feature_daily (built just before, equal to
-- the mart's) summed over every organization per UTC day and feature, as the mart reads it.
create table bench_baseline.feature_daily_platform as
select
    day,
    feature_key,
    count(*) as organizations,
    sum(events)::bigint as events
from bench_baseline.feature_daily
group by 1, 2
