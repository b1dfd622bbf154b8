-- Organizations ranked by yesterday's average overall score (runs started yesterday, UTC).
select
    r.organization_id,
    round(avg(m.value_num), 6) as avg_overall
from ops.analysis_run as r
inner join ops.analysis_metric as m on r.id = m.analysis_run_id
where
    m.key = 'overall_score' and m.value_num is not null
    and r.started_at >= %(yesterday)s::timestamp at time zone 'UTC'
    and r.started_at < (%(yesterday)s::date + 1)::timestamp at time zone 'UTC'
group by 1
order by 2 desc, 1 asc
