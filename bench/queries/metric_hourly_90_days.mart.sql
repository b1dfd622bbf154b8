-- One metric's hourly series over 90 days (analysis overall_score, all organizations).
-- mart.metric_hourly holds each hour already summed over every organization: one row an hour.
select
    ts_bucket,
    sample_count as samples,
    value_num as mean
from mart.metric_hourly
where metric_key = 'analysis.overall_score' and ts_bucket >= %(since_90d)s
order by ts_bucket
