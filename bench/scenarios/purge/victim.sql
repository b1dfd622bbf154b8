-- The user a purge removes: a typical user with events, the median by event count.
with

activity as (
    select
        user_id,
        count(*) as events,
        count(distinct cast(occurred_at at time zone 'UTC' as date)) as event_days
    from ops.event
    where user_id is not null
    group by user_id
),

ranked as (
    select
        user_id,
        events,
        event_days,
        row_number() over (order by events asc, user_id asc) as user_rank,
        count(*) over () as active_users
    from activity
)

select
    user_id,
    events,
    event_days
from ranked
where user_rank = active_users / 2 + 1
