-- The ten organizations with the lowest mean judge score this month (scores given since the 1st, UTC).
-- The month's mean is exact: daily sums over daily counts, not a mean of daily means.
select
    organization_id,
    sum(sample_count) as scores,
    round(sum(value_sum) / sum(sample_count), 6) as mean_score
from {{ ref('metric_daily') }}
where
    starts_with(metric_key, 'judge.')
    and organization_id is not null
    and day >= {{ opsmart_param('month_start') }}
group by organization_id
order by mean_score asc, organization_id asc
limit 10
