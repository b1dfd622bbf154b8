{%- set group_columns = {'organization_id': 'organization_id', 'feature_key': 'feature_key'} -%}
{{
    config(
        unique_key=['day', 'organization_id', 'feature_key'],
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

with

events as (

    {{ opsmart_changed_rows(ref('stg_ops__events'), 'occurred_at', group_columns) }}

),

daily as (

    select
        organization_id,
        (occurred_at at time zone 'UTC')::date as day,
        feature_key::text as feature_key,
        count(*) as events,
        count(distinct user_id) as unique_users
    from events
    group by 1, 2, 3

)

select * from daily
