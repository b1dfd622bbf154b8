{{
    config(
        materialized='view',
        contract={'enforced': false},
    )
}}

-- The original platform dashboard view, served from the mart: the most recent
-- hour that has any query timings.

with

dashboard as (

    select * from {{ ref('performance_dashboard') }}

),

last_hour as (

    select
        metric_type,
        sum(avg_duration_ms * query_count) / sum(query_count) as avg_duration,
        max(max_duration_ms) as max_duration,
        sum(query_count) as query_count,
        max(ts_bucket) as ts_bucket
    from dashboard
    where ts_bucket = (select max(ts_bucket) from dashboard)
    group by metric_type

)

select * from last_hour
