{{ config(materialized='table', distributed_by='reference') }}

-- MetricFlow's time spine at hour grain, for the hourly marts: every hour
-- from 2020 to two years ahead, as UTC wall-clock time (the semantic models
-- read the marts' hours the same way, so no session time zone shifts a day).

with

hours as (

    select series.hour_start as date_hour
    from generate_series(
        timestamp '2020-01-01 00:00:00',
        (current_date + interval '2 years')::timestamp,
        interval '1 hour'
    ) as series (hour_start)

)

select * from hours
