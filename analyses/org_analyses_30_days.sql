-- One organization's analyses per day over the last 30 days: volume, outcomes, judge score, p95 duration.
select
    day,
    analyses,
    succeeded,
    failed,
    avg_judge_score,
    p95_duration_s
from {{ ref('analysis_daily') }}
where organization_id = {{ opsmart_param('org') }} and day >= {{ opsmart_param('since_30d') }}
order by day
