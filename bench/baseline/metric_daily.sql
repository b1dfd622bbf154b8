-- mart.metric_daily by hand: bench_baseline.metric_timeseries (built just before, equal to the
-- mart's) rolled up per organization, metric and UTC day, as the mart reads metric_timeseries.
create table bench_baseline.metric_daily as
select
    organization_id,
    metric_key,
    (ts_bucket at time zone 'UTC')::date as day,
    sum(sample_count)::bigint as sample_count,
    sum(value_sum) as value_sum,
    min(value_min) as value_min,
    max(value_max) as value_max,
    round(sum(value_sum) / sum(sample_count), 6) as value_num
from bench_baseline.metric_timeseries
group by 1, 2, 3
