-- One metric's hourly series over 90 days (analysis overall_score, all organizations).
-- {{ ref('metric_hourly') }} holds each hour already summed over every organization: one row an hour.
select
    ts_bucket,
    sample_count as samples,
    value_num as mean
from {{ ref('metric_hourly') }}
where metric_key = 'analysis.overall_score' and ts_bucket >= {{ opsmart_param('since_90d') }}
order by ts_bucket
