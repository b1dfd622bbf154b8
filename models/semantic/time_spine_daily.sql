{{ config(materialized='table', distributed_by='reference') }}

-- MetricFlow's time spine at day grain: every UTC date from 2020 to two years
-- ahead (cumulative metrics, offsets and filled gaps join to it).

with

days as (

    select series.day_start::date as date_day
    from generate_series(
        date '2020-01-01',
        (current_date + interval '2 years')::date,
        interval '1 day'
    ) as series (day_start)

)

select * from days
