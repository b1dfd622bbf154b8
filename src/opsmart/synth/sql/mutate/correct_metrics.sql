-- Overall scores corrected like judge scores.
update ops.analysis_metric
set value_num = mod(value_num * 2 + 1 + floor(20 * pg_temp.uh(id::text, 'victim.metric_shift'))::integer, 21) / 2
where id in (
    select m.id from ops.analysis_metric as m
    where m.key = 'overall_score' and m.value_num is not null
    order by pg_temp.uh(m.id::text, 'victim.metric')
    limit greatest(1, round(%(fraction)s * (
        select count(*) from ops.analysis_metric as q
        where q.key = 'overall_score'
    )))
)
