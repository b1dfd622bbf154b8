-- Per analysis run, the sums and counts of the scores analysis_daily averages:
-- overall_score and semantic_entropy metrics, and judge scores. Sums and
-- counts, so a day's mean over all its runs' scores is exact; one row per run
-- with any score, so a filter on analysis_run_id reaches the index.
-- On a Citus cluster also per organization, the distribution column: each
-- shard then sums its own runs' scores (there a score's organization is its
-- run's: a composite key, never NULL, never changed). Not on one server,
-- where a foreign key with a NULL column is not checked.

with

analysis_metrics as (

    select * from {{ ref('stg_ops__analysis_metrics') }}

),

judge_scores as (

    select * from {{ ref('stg_ops__judge_scores') }}

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
    union all
    select
        analysis_run_id,
        organization_id,
        'judge_score' as score_kind,
        score as score_value
    from judge_scores

),

sums as (

    select
        analysis_run_id,
        {%- if opsmart_is_citus() %}
        organization_id,
        {%- endif %}
        sum(score_value) filter (where score_kind = 'overall_score') as overall_sum,
        count(score_value) filter (where score_kind = 'overall_score') as overall_count,
        sum(score_value) filter (where score_kind = 'semantic_entropy') as entropy_sum,
        count(score_value) filter (where score_kind = 'semantic_entropy') as entropy_count,
        sum(score_value) filter (where score_kind = 'judge_score') as judge_sum,
        count(score_value) filter (where score_kind = 'judge_score') as judge_count
    from scores
    group by analysis_run_id{% if opsmart_is_citus() %}, organization_id{% endif %}

)

select * from sums
