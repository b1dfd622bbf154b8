-- The ten organizations with the lowest mean judge score this month (scores given since the 1st, UTC).
-- The month's mean is exact: hourly sums over hourly counts, not a mean of daily means.
select
    r.organization_id,
    count(*) as scores,
    round(avg(s.score), 6) as mean_score
from ops.judge_score as s
inner join ops.analysis_run as r on s.analysis_run_id = r.id
where
    r.organization_id is not null
    and s.created_at >= %(month_start)s::timestamp at time zone 'UTC'
group by 1
order by 3 asc, 1 asc
limit 10
