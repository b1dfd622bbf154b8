-- feature_daily_platform is an exact rollup of feature_daily: the same
-- organizations and events per (feature, day). (Both reflect one snapshot:
-- the rollup takes feature_daily's.)

with

daily as (

    select * from {{ ref('feature_daily') }}

),

platform as (

    select * from {{ ref('feature_daily_platform') }}

),

by_day as (

    select
        feature_key,
        day,
        count(*) as organizations,
        sum(events) as events
    from daily
    group by 1, 2

),

mismatches as (

    select
        coalesce(by_day.feature_key, platform.feature_key) as feature_key,
        coalesce(by_day.day, platform.day) as day
    from by_day
    full outer join platform
        on
            by_day.feature_key = platform.feature_key
            and by_day.day = platform.day
    where
        by_day.organizations is distinct from platform.organizations
        or by_day.events is distinct from platform.events

)

select * from mismatches
