-- The samples of metric_timeseries from LLM-as-judge scores:
-- judge.<criterion key>, trim_scale()d as in int_analysis_metric_samples.

with

judge_scores as (

    select * from {{ ref('stg_ops__judge_scores') }}

),

judge_criteria as (

    select * from {{ ref('stg_ops__judge_criteria') }}

),

samples as (

    select
        judge_scores.organization_id,
        'judge.' || judge_criteria.criterion_key as metric_key,
        judge_scores.created_at as sampled_at,
        trim_scale(judge_scores.score) as sample_value
    from judge_scores
    inner join judge_criteria
        on judge_scores.judge_criterion_id = judge_criteria.judge_criterion_id

)

select * from samples
