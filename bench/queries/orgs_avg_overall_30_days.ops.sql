-- Organizations ranked by their mean overall score over the last 30 days (exact rollup of hourly sums).
select
    r.organization_id,
    count(*) as samples,
    round(avg(m.value_num), 6) as mean
from ops.analysis_metric as m
inner join ops.analysis_run as r on m.analysis_run_id = r.id
where
    m.key = 'overall_score' and m.value_num is not null
    and m.created_at >= %(since_30d)s::timestamp at time zone 'UTC'
group by 1
order by 3 desc, 1 asc
