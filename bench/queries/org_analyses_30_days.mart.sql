-- One organization's analyses per day over the last 30 days: volume, outcomes, judge score, p95 duration.
select
    day,
    analyses,
    succeeded,
    failed,
    avg_judge_score,
    p95_duration_s
from mart.analysis_daily
where organization_id = %(org)s and day >= %(since_30d)s
order by day
