-- One row per day: the time spine MetricFlow joins metrics to.
select cast(date '2020-01-01' + cast(days.day_offset as integer) as date) as date_day
from {{ day_offsets(days_between("date '2020-01-01'", "date '2036-01-01'")) }} as days (day_offset)  -- noqa: RF04
