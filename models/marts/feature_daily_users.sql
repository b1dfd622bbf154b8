{%- set group_columns = {'organization_id': 'organization_id', 'feature_key': 'feature_key'} -%}
{{
    config(
        unique_key=['day', 'organization_id', 'feature_key', 'user_id'],
        bucket_column='day',
        bucket_grain='day',
        group_columns=group_columns,
        change_sources=['event'],
        distributed_by='organization_id',
        indexes=[
            {'columns': ['organization_id', 'day']},
            {'columns': ['feature_key', 'day']},
        ],
    )
}}

-- Who used which feature on which day: the grain at which distinct users
-- add up. A distinct count over any window or grouping (weekly active users
-- of an organization, monthly users of a feature) is exact here, where
-- feature_daily's per-day unique_users cannot be summed.

with

events as (

    {{ opsmart_changed_rows(ref('stg_ops__events'), 'occurred_at', group_columns) }}

),

user_days as (

    select
        organization_id,
        (occurred_at at time zone 'UTC')::date as day,
        feature_key::text as feature_key,
        user_id,
        count(*) as events
    from events
    where user_id is not null
    group by 1, 2, 3, 4

)

select * from user_days
