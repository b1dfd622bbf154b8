{%- set group_columns = {'organization_id': 'organization_id'} -%}
{{
    config(
        unique_key=['day', 'organization_id'],
        bucket_column='day',
        bucket_grain='day',
        group_columns=group_columns,
        change_sources=['analysis_run'],
        distributed_by='organization_id',
        indexes=[
            {'columns': ['organization_id', 'day']},
        ],
    )
}}

{%- set on_cluster = opsmart_is_citus() %}

with

-- On a Citus cluster not materialized: inlined, the runs stay a distributed
-- query beside their scores, so the whole build runs on the workers.
analysis_runs as {% if on_cluster %}not materialized {% endif %}(

    {{ opsmart_changed_rows(ref('stg_ops__analysis_runs'), 'started_at', group_columns) }}

),

{%- if is_incremental() and not on_cluster %}

-- Many recomputed runs (scattered updates reopen most days): more than an
-- eighth of the runs the mart counts. Then every run's sums in one pass cost
-- less than a probe per run (M: 4 s for all runs against 12 s of probes for
-- half of them).
recomputed_share as (

    select count(*) * 8 > (select coalesce(sum(mart.analyses), 0) from {{ this }} as mart) as many
    from analysis_runs

),
{%- endif %}

run_score_sums as (
    {%- if is_incremental() %}
    -- only the recomputed runs' scores: one index probe per run (a fenced
    -- LATERAL, see opsmart_changed_rows), not the sums of every run. On a
    -- cluster correlated on the distribution column too and not fenced, so
    -- Citus pushes it down to the workers (fenced, it gathered every score
    -- on the coordinator).
    select sums.*
    from analysis_runs as changed
    cross join lateral (
        -- no alias on the ref: dbt build --empty renders it as an aliased subquery
        select * from {{ ref('int_analysis_run_score_sums') }}
        where
            analysis_run_id = changed.analysis_run_id
            {%- if on_cluster %}
            and organization_id = changed.organization_id
            {%- endif %}
        {%- if not on_cluster %}
        offset 0
        {%- endif %}
    ) as sums
    {%- if not on_cluster %}
    where not (select share.many from recomputed_share as share)
    union all
    -- or every run's, read once (both give the same sums for a recomputed run)
    select * from {{ ref('int_analysis_run_score_sums') }}
    where (select share.many from recomputed_share as share)
    {%- endif %}
    {%- else %}
    select * from {{ ref('int_analysis_run_score_sums') }}
    {%- endif %}
),

-- One pass over the runs, their scores summed per run: NULL organizations
-- group together.
daily as (

    select
        runs.organization_id,
        (runs.started_at at time zone 'UTC')::date as day,
        count(*) as analyses,
        count(*) filter (where runs.status = 'succeeded') as succeeded,
        count(*) filter (where runs.status = 'failed') as failed,
        count(*) filter (where runs.status = 'cancelled') as cancelled,
        round(sum(scores.overall_sum) / nullif(sum(scores.overall_count), 0), 6)::numeric(16, 6) as avg_overall,
        round(sum(scores.entropy_sum) / nullif(sum(scores.entropy_count), 0), 6)::numeric(24, 6) as avg_entropy,
        round(sum(scores.judge_sum) / nullif(sum(scores.judge_count), 0), 6)::numeric(16, 6) as avg_judge_score,
        percentile_cont(0.95) within group (
            order by extract(epoch from runs.finished_at - runs.started_at)::double precision
        ) filter (where runs.finished_at is not null) as p95_duration_s,
        sum(scores.overall_sum) as overall_score_sum,
        coalesce(sum(scores.overall_count), 0)::bigint as overall_score_count,
        sum(scores.judge_sum) as judge_score_sum,
        coalesce(sum(scores.judge_count), 0)::bigint as judge_score_count
    from analysis_runs as runs
    left join run_score_sums as scores
        on
            {% if on_cluster -%}
            runs.organization_id = scores.organization_id
            and {% endif -%}
            runs.analysis_run_id = scores.analysis_run_id
    where runs.started_at is not null
    group by 1, 2

)

select * from daily
