-- The samples of metric_timeseries from analysis metrics: analysis.<key>.
-- Samples are trim_scale()d: 5 and 5.0 are equal numerics but print
-- differently, and min()/max() would return whichever it met first, so the
-- mart's text would depend on row order.

with

analysis_metrics as (

    select * from {{ ref('stg_ops__analysis_metrics') }}

),

samples as (

    select
        organization_id,
        'analysis.' || metric_key as metric_key,
        created_at as sampled_at,
        trim_scale(value_num) as sample_value
    from analysis_metrics
    where value_num is not null

)

select * from samples
