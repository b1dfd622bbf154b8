-- The samples of metric_timeseries from conversation messages: one
-- conversation.messages sample of 1 per message, at the time it was sent.

with

messages as (

    select * from {{ ref('stg_ops__messages') }}

),

samples as (

    select
        organization_id,
        'conversation.messages' as metric_key,
        sent_at as sampled_at,
        1::numeric as sample_value
    from messages

)

select * from samples
