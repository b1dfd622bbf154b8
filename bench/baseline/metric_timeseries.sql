-- mart.metric_timeseries by hand: every numeric sample with its parent's organization, per UTC hour.
create table bench_baseline.metric_timeseries as
with

samples as (
    select r.organization_id, 'analysis.' || m.key as metric_key, m.created_at as sampled_at, trim_scale(m.value_num) as v
    from ops.analysis_metric as m
    join ops.analysis_run as r on r.id = m.analysis_run_id
    where m.value_num is not null
    union all
    select w.organization_id, 'evaluation.' || e.metric_name, e.created_at, trim_scale(e.metric_value::numeric)
    from ops.evaluation_metric as e
    join ops.workflow_run as w on w.id = e.run_id
    union all
    select r.organization_id, 'judge.' || c.key, s.created_at, trim_scale(s.score)
    from ops.judge_score as s
    join ops.analysis_run as r on r.id = s.analysis_run_id
    join ops.judge_criterion as c on c.id = s.criterion_id
    union all
    select cs.organization_id, 'conversation.messages', msg.ts, 1::numeric
    from ops.message as msg
    join ops.chat_session as cs on cs.id = msg.session_id
)

select
    organization_id,
    metric_key,
    date_trunc('hour', sampled_at, 'UTC') as ts_bucket,
    count(*) as sample_count,
    sum(v) as value_sum,
    min(v) as value_min,
    max(v) as value_max,
    round(avg(v), 6) as value_num,
    null::jsonb as value_json
from samples
group by 1, 2, 3
