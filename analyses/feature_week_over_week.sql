-- Week-over-week change per feature: events of the last 7 complete days against the 7 before, all organizations.
-- {{ ref('feature_daily_platform') }} holds each day already summed over every organization: one row a feature.
with

weeks as (
    select
        feature_key,
        coalesce(sum(events) filter (where day >= {{ opsmart_param('week_start') }}), 0)::bigint as this_week,
        coalesce(sum(events) filter (where day < {{ opsmart_param('week_start') }}), 0)::bigint as last_week
    from {{ ref('feature_daily_platform') }}
    where day >= {{ opsmart_param('prior_week_start') }} and day < {{ opsmart_param('today') }}
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
