-- Week-over-week change per feature: events of the last 7 complete days against the 7 before, all organizations.
with

weeks as (
    select
        feature_key::text as feature_key,
        count(*) filter (
            where occurred_at >= %(week_start)s::timestamp at time zone 'UTC'
        ) as this_week,
        count(*) filter (
            where occurred_at < %(week_start)s::timestamp at time zone 'UTC'
        ) as last_week
    from ops.event
    where
        occurred_at >= %(prior_week_start)s::timestamp at time zone 'UTC'
        and occurred_at < %(today)s::timestamp at time zone 'UTC'
    group by feature_key
)

select
    feature_key,
    this_week,
    last_week,
    this_week - last_week as delta,
    round(100.0 * (this_week - last_week) / nullif(last_week, 0), 1) as change_pct
from weeks
order by delta desc, feature_key asc
