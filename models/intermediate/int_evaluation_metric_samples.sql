-- The samples of metric_timeseries from workflow evaluation metrics:
-- evaluation.<metric_name>, as numerics (sums are then exact whatever order
-- rows are added in), trim_scale()d as in int_analysis_metric_samples.

with

evaluation_metrics as (

    select * from {{ ref('stg_ops__evaluation_metrics') }}

),

samples as (

    select
        organization_id,
        'evaluation.' || metric_name as metric_key,
        created_at as sampled_at,
        trim_scale(metric_value::numeric) as sample_value
    from evaluation_metrics

)

select * from samples
