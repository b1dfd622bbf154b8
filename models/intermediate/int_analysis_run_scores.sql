-- The scores analysis_daily averages, each tied to its run's organization and
-- start: overall_score and semantic_entropy metrics, and judge scores.
-- Runs are joined once, after the union: a CTE referenced twice would be
-- materialized over every run before the mart's started_at filter applies.

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

run_scores as (

    select
        analysis_run_id,
        metric_key as score_kind,
        value_num as score_value
    from analysis_metrics
    where
        metric_key in ('overall_score', 'semantic_entropy')
        and value_num is not null
    union all
    select
        analysis_run_id,
        'judge_score' as score_kind,
        score as score_value
    from judge_scores

),

scores as (

    select
        analysis_runs.organization_id,
        analysis_runs.started_at,
        run_scores.score_kind,
        run_scores.score_value
    from run_scores
    inner join analysis_runs
        on run_scores.analysis_run_id = analysis_runs.analysis_run_id
    where analysis_runs.started_at is not null

)

select * from scores
