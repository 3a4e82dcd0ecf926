"""A daily report with catchup, a time zone and a task returning several outputs."""

from __future__ import annotations

import pendulum

from typing import Annotated
from portaflow import Schedule, pipeline, step


@step
def summarize() -> tuple[Annotated[float, "total"], Annotated[float, "best"]]:
    sales = {"eu": 120.5, "us": 310.25}
    return sum(sales.values()), max(sales.values())


@step
def email(total: float, best: float) -> str:
    return f"total {total:.2f}, best {best:.2f}"


@pipeline(name="daily_sales_report", schedule=Schedule(cron="0 0 * * *", catchup=True, timezone="Europe/Paris"))
def sales_report():
    summary_total, summary_best = summarize()
    email(total=summary_total, best=summary_best)
