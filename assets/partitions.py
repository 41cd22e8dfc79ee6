"""One monthly partition per calendar month in Asia/Shanghai; a month exists once it has closed."""

import dagster as dg

FIRST_MONTH = "2023-01"

monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=FIRST_MONTH, fmt="%Y-%m", timezone="Asia/Shanghai", end_offset=0
)
