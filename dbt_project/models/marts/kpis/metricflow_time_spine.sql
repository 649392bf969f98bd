{{ config(materialized='view') }}

-- One row per day: the time spine MetricFlow needs to aggregate metrics over time.
with

days as (

    select cast(unnest(generate_series(date '2015-01-01', date '2035-12-31', interval 1 day)) as date)
        as date_day

)

select * from days
