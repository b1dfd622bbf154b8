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

latest as (

    select max(dashboard.ts_bucket) as ts_bucket
    from dashboard

),

last_hour as (

    select
        dashboard.metric_type,
        sum(dashboard.avg_duration_ms * dashboard.query_count) / sum(dashboard.query_count) as avg_duration,
        max(dashboard.max_duration_ms) as max_duration,
        sum(dashboard.query_count) as query_count,
        max(dashboard.ts_bucket) as ts_bucket
    from dashboard
    inner join latest on dashboard.ts_bucket = latest.ts_bucket
    group by dashboard.metric_type

)

select * from last_hour
