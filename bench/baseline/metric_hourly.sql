-- mart.metric_hourly by hand: bench_baseline.metric_timeseries (built just before, equal to the
-- mart's) summed over every organization per metric and UTC hour, as the mart reads it.
create table bench_baseline.metric_hourly as
select
    metric_key,
    ts_bucket,
    count(*) as organizations,
    sum(sample_count)::bigint as sample_count,
    sum(value_sum) as value_sum,
    min(value_min) as value_min,
    max(value_max) as value_max,
    round(sum(value_sum) / sum(sample_count), 6) as value_num
from bench_baseline.metric_timeseries
group by 1, 2
