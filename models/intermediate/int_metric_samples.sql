-- One numeric sample per source row of mart.metric_timeseries, with the
-- organization it belongs to (its parent's) and the moment it was taken.
-- Samples are trim_scale()d: 5 and 5.0 are equal numerics but print
-- differently, and min()/max() would return whichever it met first, so the
-- mart's text would depend on row order.

with

analysis_metrics as (

    select * from {{ ref('stg_ops__analysis_metrics') }}

),

analysis_runs as (

    select * from {{ ref('stg_ops__analysis_runs') }}

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

workflow_runs as (

    select * from {{ ref('stg_ops__workflow_runs') }}

),

messages as (

    select * from {{ ref('stg_ops__messages') }}

),

chat_sessions as (

    select * from {{ ref('stg_ops__chat_sessions') }}

),

analysis_samples as (

    select
        analysis_runs.organization_id,
        'analysis.' || analysis_metrics.metric_key as metric_key,
        analysis_metrics.created_at as sampled_at,
        trim_scale(analysis_metrics.value_num) as sample_value
    from analysis_metrics
    inner join analysis_runs
        on analysis_metrics.analysis_run_id = analysis_runs.analysis_run_id
    where analysis_metrics.value_num is not null

),

evaluation_samples as (

    select
        workflow_runs.organization_id,
        'evaluation.' || evaluation_metrics.metric_name as metric_key,
        evaluation_metrics.created_at as sampled_at,
        -- numeric, so sums are exact whatever order rows are added in
        trim_scale(evaluation_metrics.metric_value::numeric) as sample_value
    from evaluation_metrics
    inner join workflow_runs
        on evaluation_metrics.workflow_run_id = workflow_runs.workflow_run_id

),

judge_samples as (

    select
        analysis_runs.organization_id,
        'judge.' || judge_criteria.criterion_key as metric_key,
        judge_scores.created_at as sampled_at,
        trim_scale(judge_scores.score) as sample_value
    from judge_scores
    inner join analysis_runs
        on judge_scores.analysis_run_id = analysis_runs.analysis_run_id
    inner join judge_criteria
        on judge_scores.judge_criterion_id = judge_criteria.judge_criterion_id

),

message_samples as (

    select
        chat_sessions.organization_id,
        'conversation.messages' as metric_key,
        messages.sent_at as sampled_at,
        1::numeric as sample_value
    from messages
    inner join chat_sessions
        on messages.chat_session_id = chat_sessions.chat_session_id

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
