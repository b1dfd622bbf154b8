-- One metric's hourly series over 90 days (analysis overall_score, all organizations).
select
    ts_bucket,
    sum(sample_count) as samples,
    round(sum(value_sum) / sum(sample_count), 6) as mean
from mart.metric_timeseries
where metric_key = 'analysis.overall_score' and ts_bucket >= %(since_90d)s
group by ts_bucket
order by ts_bucket
