"""A daily report with catchup, a time zone and a task returning several outputs."""

from __future__ import annotations

import pendulum

from airflow.sdk import dag, task


@dag(
    dag_id="daily_sales_report",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris"),
    catchup=True,
    description="Sales per region, every morning.",
    doc_md=__doc__,
)
def sales_report():
    @task(multiple_outputs=True)
    def summarize() -> dict[str, float]:
        sales = {"eu": 120.5, "us": 310.25}
        return {"total": sum(sales.values()), "best": max(sales.values())}

    @task
    def email(total: float, best: float) -> str:
        return f"total {total:.2f}, best {best:.2f}"

    summary = summarize()
    email(total=summary["total"], best=summary["best"])


sales_report()
