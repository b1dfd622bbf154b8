{%- set group_columns = {'organization_id': 'organization_id'} -%}
{{
    config(
        unique_key=['day', 'organization_id'],
        bucket_column='day',
        bucket_grain='day',
        group_columns=group_columns,
        change_sources=['analysis_run'],
        indexes=[
            {'columns': ['organization_id', 'day']},
        ],
    )
}}

with

analysis_runs as (

    {{ opsmart_changed_rows(ref('stg_ops__analysis_runs'), 'started_at', group_columns) }}

),

run_scores as (

    {{ opsmart_changed_rows(ref('int_analysis_run_scores'), 'started_at', group_columns) }}

),

run_facts as (

    select
        organization_id,
        started_at,
        status,
        extract(epoch from finished_at - started_at)::double precision as duration_s,
        'run' as score_kind,
        null::numeric as score_value
    from analysis_runs
    where started_at is not null

),

score_facts as (

    select
        organization_id,
        started_at,
        null as status,
        null::double precision as duration_s,
        score_kind,
        score_value
    from run_scores

),

facts as (

    select * from run_facts
    union all
    select * from score_facts

),

-- One pass over runs and their scores: NULL organizations group together.
daily as (

    select
        organization_id,
        (started_at at time zone 'UTC')::date as day,
        count(*) filter (where score_kind = 'run') as analyses,
        count(*) filter (where status = 'succeeded') as succeeded,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where status = 'cancelled') as cancelled,
        round(avg(score_value) filter (where score_kind = 'overall_score'), 6)::numeric(16, 6) as avg_overall,
        round(avg(score_value) filter (where score_kind = 'semantic_entropy'), 6)::numeric(24, 6) as avg_entropy,
        round(avg(score_value) filter (where score_kind = 'judge_score'), 6)::numeric(16, 6) as avg_judge_score,
        percentile_cont(0.95) within group (order by duration_s) filter (
            where duration_s is not null
        ) as p95_duration_s
    from facts
    group by 1, 2

)

select * from daily
