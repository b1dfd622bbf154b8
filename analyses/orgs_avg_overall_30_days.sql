-- Organizations ranked by their mean overall score over the last 30 days (exact rollup of daily sums).
select
    organization_id,
    sum(sample_count) as samples,
    round(sum(value_sum) / sum(sample_count), 6) as mean
from {{ ref('metric_daily') }}
where metric_key = 'analysis.overall_score' and day >= {{ opsmart_param('since_30d') }}
group by organization_id
order by mean desc, organization_id asc
