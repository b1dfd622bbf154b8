-- Every event is counted once in feature_daily: per UTC day, sum(events)
-- equals the events in ops (days with changes not yet built are skipped).

with

mart as (

    select
        day,
        sum(events) as events
    from {{ ref('feature_daily') }}
    group by 1

),

ops_events as (

    select
        (occurred_at at time zone 'UTC')::date as day,
        count(*) as events
    from {{ source('ops', 'event') }}
    group by 1

),

pending as (

    {{ opsmart_pending_buckets('feature_daily', ['event'], 'day') }}

),

compared as (

    select
        coalesce(mart.day, ops_events.day) as day,
        mart.events as mart_events,
        ops_events.events as ops_events
    from mart
    full outer join ops_events on mart.day = ops_events.day

)

select * from compared
where
    mart_events is distinct from ops_events
    and (day::timestamp at time zone 'UTC') not in (select pending.bucket_start from pending)
