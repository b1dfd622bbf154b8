-- The analysis metrics analysis_daily averages, one row per score: the
-- overall_score and semantic_entropy metrics with a value, each with its run
-- and organization. Rows, not per-run sums: a build sums only the runs it
-- recomputes, and a filter on analysis_run_id reaches the table's index.

with

analysis_metrics as (

    select * from {{ ref('stg_ops__analysis_metrics') }}

),

scores as (

    select
        analysis_run_id,
        organization_id,
        metric_key as score_kind,
        value_num as score_value
    from analysis_metrics
    where
        metric_key in ('overall_score', 'semantic_entropy')
        and value_num is not null

)

select * from scores
