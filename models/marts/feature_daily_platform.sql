{{
    config(
        unique_key=['day', 'feature_key'],
        bucket_column='day',
        bucket_grain='day',
        group_columns={},
        change_sources=['event'],
        distributed_by='feature_key',
        snapshot_from='feature_daily',
        indexes=[
            {'columns': ['feature_key', 'day']},
        ],
    )
}}

-- feature_daily summed over every organization, per UTC day: what analysts
-- ask about features across the platform (the week's top features, week over
-- week) reads a day's row per feature, not one per organization. Built from
-- feature_daily with the snapshot of its last build (config snapshot_from); a
-- day that changed in any organization is summed again.

with

daily as (

    {{ opsmart_changed_rows(ref('feature_daily'), 'day', {}, time_is_date=true) }}

),

platform as (

    select
        day,
        feature_key,
        count(*) as organizations,
        sum(events)::bigint as events
    from daily
    group by 1, 2

)

select * from platform
