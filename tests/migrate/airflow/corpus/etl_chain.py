"""Order-only dependencies: tasks without data between them, ordered with >> and chain()."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import chain, dag, task


@dag(schedule="@hourly", start_date=datetime(2024, 1, 1), catchup=False)
def warehouse_refresh():
    @task
    def create_staging() -> None:
        print("CREATE TABLE staging")

    @task
    def load_orders() -> None:
        print("COPY orders")

    @task
    def load_customers() -> None:
        print("COPY customers")

    @task
    def swap() -> None:
        print("ALTER TABLE ... SWAP")

    @task
    def vacuum() -> None:
        print("VACUUM")

    @task
    def notify() -> None:
        print("done")

    staging = create_staging()
    # Both loads wait for the staging table.
    staging >> [load_orders(), load_customers()] >> swap()
    chain(vacuum(), notify())


warehouse_refresh()
