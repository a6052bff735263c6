-- One row per day: the time spine MetricFlow joins metrics to.
select cast(days.range as date) as date_day
from range(date '2020-01-01', date '2036-01-01', interval 1 day) as days  -- noqa: RF04
