-- One metric's hourly series over 90 days (analysis overall_score, all organizations).
select
    date_trunc('hour', created_at, 'UTC') as ts_bucket,
    count(*) as samples,
    round(avg(value_num), 6) as mean
from ops.analysis_metric
where key = 'overall_score' and value_num is not null and created_at >= %(since_90d)s
group by 1
order by 1
