-- The scores analysis_daily averages, each tied to its run's organization and
-- start: overall_score and semantic_entropy metrics, and judge scores.

with

analysis_runs as (

    select * from {{ ref('stg_ops__analysis_runs') }}

),

analysis_metrics as (

    select * from {{ ref('stg_ops__analysis_metrics') }}

),

judge_scores as (

    select * from {{ ref('stg_ops__judge_scores') }}

),

metric_scores as (

    select
        analysis_runs.organization_id,
        analysis_runs.started_at,
        analysis_metrics.metric_key as score_kind,
        analysis_metrics.value_num as score_value
    from analysis_metrics
    inner join analysis_runs
        on analysis_metrics.analysis_run_id = analysis_runs.analysis_run_id
    where
        analysis_metrics.metric_key in ('overall_score', 'semantic_entropy')
        and analysis_metrics.value_num is not null

),

judge_run_scores as (

    select
        analysis_runs.organization_id,
        analysis_runs.started_at,
        'judge_score' as score_kind,
        judge_scores.score as score_value
    from judge_scores
    inner join analysis_runs
        on judge_scores.analysis_run_id = analysis_runs.analysis_run_id

),

scores as (

    select * from metric_scores
    union all
    select * from judge_run_scores

)

select * from scores
where started_at is not null
