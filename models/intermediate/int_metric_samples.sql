-- One numeric sample per source row of mart.metric_timeseries, with its
-- organization (each row carries its parent's) and the moment it was taken.
-- Samples are trim_scale()d: 5 and 5.0 are equal numerics but print
-- differently, and min()/max() would return whichever it met first, so the
-- mart's text would depend on row order.

with

analysis_metrics as (

    select * from {{ ref('stg_ops__analysis_metrics') }}

),

judge_scores as (

    select * from {{ ref('stg_ops__judge_scores') }}

),

judge_criteria as (

    select * from {{ ref('stg_ops__judge_criteria') }}

),

evaluation_metrics as (

    select * from {{ ref('stg_ops__evaluation_metrics') }}

),

messages as (

    select * from {{ ref('stg_ops__messages') }}

),

analysis_samples as (

    select
        organization_id,
        'analysis.' || metric_key as metric_key,
        created_at as sampled_at,
        trim_scale(value_num) as sample_value
    from analysis_metrics
    where value_num is not null

),

evaluation_samples as (

    select
        organization_id,
        'evaluation.' || metric_name as metric_key,
        created_at as sampled_at,
        -- numeric, so sums are exact whatever order rows are added in
        trim_scale(metric_value::numeric) as sample_value
    from evaluation_metrics

),

judge_samples as (

    select
        judge_scores.organization_id,
        'judge.' || judge_criteria.criterion_key as metric_key,
        judge_scores.created_at as sampled_at,
        trim_scale(judge_scores.score) as sample_value
    from judge_scores
    inner join judge_criteria
        on judge_scores.judge_criterion_id = judge_criteria.judge_criterion_id

),

message_samples as (

    select
        organization_id,
        'conversation.messages' as metric_key,
        sent_at as sampled_at,
        1::numeric as sample_value
    from messages

),

samples as (

    select * from analysis_samples
    union all
    select * from evaluation_samples
    union all
    select * from judge_samples
    union all
    select * from message_samples

)

select * from samples
