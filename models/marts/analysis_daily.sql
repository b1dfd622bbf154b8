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

{%- set score_models = {
    'metric': ref('int_analysis_run_metric_scores'),
    'judge': ref('int_analysis_run_judge_scores'),
} %}
{%- for name, scores_model in score_models.items() %}

-- The {{ name }} scores of the runs this build counts: every run's in a full
-- build; else the recomputed runs' only, one index probe per run (a fenced
-- LATERAL, see opsmart_changed_rows). On a cluster, a join on the
-- distribution column instead, in a full build too: Citus runs it on the
-- workers (the fenced probe gathered every score on the coordinator). Each
-- kind of score on its own: Citus does not push a union of the two down.
{{ name }}_scores as (
    {%- if on_cluster %}
    select scores.*
    from {{ scores_model }} as scores
    inner join analysis_runs as changed
        on
            scores.organization_id = changed.organization_id
            and scores.analysis_run_id = changed.analysis_run_id
    {%- elif not is_incremental() %}
    select * from {{ scores_model }}
    {%- else %}
    select scores.*
    from analysis_runs as changed
    cross join lateral (
        -- no alias on the ref: dbt build --empty renders it as an aliased subquery
        select * from {{ scores_model }}
        where analysis_run_id = changed.analysis_run_id
        offset 0
    ) as scores
    where not (select share.many from recomputed_share as share)
    union all
    -- or every run's, read once (the rows of a recomputed run are the same)
    select * from {{ scores_model }}
    where (select share.many from recomputed_share as share)
    {%- endif %}
),

-- Per run, the sums and counts of its {{ name }} scores, so a day's mean
-- over all its runs' scores is exact. On a cluster per organization too, the
-- distribution column, so each shard sums its own (there a score's
-- organization is its run's: a composite key, never NULL, never changed; not
-- so on one server, where a foreign key with a NULL column is not checked).
{{ name }}_sums as (

    select
        analysis_run_id,
        {%- if on_cluster %}
        organization_id,
        {%- endif %}
        sum(score_value) filter (where score_kind = 'overall_score') as overall_sum,
        count(score_value) filter (where score_kind = 'overall_score') as overall_count,
        sum(score_value) filter (where score_kind = 'semantic_entropy') as entropy_sum,
        count(score_value) filter (where score_kind = 'semantic_entropy') as entropy_count,
        sum(score_value) filter (where score_kind = 'judge_score') as judge_sum,
        count(score_value) filter (where score_kind = 'judge_score') as judge_count
    from {{ name }}_scores
    group by 1{% if on_cluster %}, 2{% endif %}

),
{%- endfor %}

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
        round(sum(metric.overall_sum) / nullif(sum(metric.overall_count), 0), 6)::numeric(16, 6) as avg_overall,
        round(sum(metric.entropy_sum) / nullif(sum(metric.entropy_count), 0), 6)::numeric(24, 6) as avg_entropy,
        round(sum(judge.judge_sum) / nullif(sum(judge.judge_count), 0), 6)::numeric(16, 6) as avg_judge_score,
        percentile_cont(0.95) within group (
            order by extract(epoch from runs.finished_at - runs.started_at)::double precision
        ) filter (where runs.finished_at is not null) as p95_duration_s,
        sum(metric.overall_sum) as overall_score_sum,
        coalesce(sum(metric.overall_count), 0)::bigint as overall_score_count,
        sum(judge.judge_sum) as judge_score_sum,
        coalesce(sum(judge.judge_count), 0)::bigint as judge_score_count
    from analysis_runs as runs
    left join metric_sums as metric
        on
            {% if on_cluster -%}
            runs.organization_id = metric.organization_id
            and {% endif -%}
            runs.analysis_run_id = metric.analysis_run_id
    left join judge_sums as judge
        on
            {% if on_cluster -%}
            runs.organization_id = judge.organization_id
            and {% endif -%}
            runs.analysis_run_id = judge.analysis_run_id
    where runs.started_at is not null
    group by 1, 2

)

select * from daily
