-- The LLM-as-judge scores analysis_daily averages, one row per score, each
-- with its run and organization, in the shape of
-- int_analysis_run_metric_scores.

with

judge_scores as (

    select * from {{ ref('stg_ops__judge_scores') }}

),

scores as (

    select
        analysis_run_id,
        organization_id,
        'judge_score' as score_kind,
        score as score_value
    from judge_scores

)

select * from scores
