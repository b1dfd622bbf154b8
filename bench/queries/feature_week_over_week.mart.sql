-- Week-over-week change per feature: events of the last 7 complete days against the 7 before, all organizations.
with

weeks as (
    select
        feature_key,
        coalesce(sum(events) filter (where day >= %(week_start)s), 0)::bigint as this_week,
        coalesce(sum(events) filter (where day < %(week_start)s), 0)::bigint as last_week
    from mart.feature_daily
    where day >= %(prior_week_start)s and day < %(today)s
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
