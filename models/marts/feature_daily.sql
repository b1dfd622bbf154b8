{%- set bucket_grain = 'day' -%}
{{
    config(
        unique_key=['day', 'organization_id', 'feature_key'],
        bucket_column='day',
        bucket_grain=bucket_grain,
        change_sources=['event'],
        indexes=[
            {'columns': ['organization_id', 'day']},
            {'columns': ['feature_key', 'day']},
        ],
        pre_hook="{{ opsmart_claim_changes() }}",
        post_hook="{{ opsmart_release_changes() }}",
    )
}}

with

events as (

    select * from {{ ref('stg_ops__events') }}
    where {{ opsmart_only_changed('occurred_at', bucket_grain) }}

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
