"""Order-only dependencies: tasks without data between them, ordered with >> and chain()."""

from __future__ import annotations

from datetime import datetime

from portaflow import Schedule, pipeline, step


@step
def create_staging() -> None:
    print("CREATE TABLE staging")


@step
def load_orders() -> None:
    print("COPY orders")


@step
def load_customers() -> None:
    print("COPY customers")


@step
def swap() -> None:
    print("ALTER TABLE ... SWAP")


@step
def vacuum() -> None:
    print("VACUUM")


@step
def notify() -> None:
    print("done")


@pipeline(schedule=Schedule(cron="0 * * * *"))
def warehouse_refresh():
    staging = create_staging()
    # Both loads wait for the staging table.
    load_orders_task = load_orders(after=[staging])
    load_customers_task = load_customers(after=[staging])
    swap(after=[load_orders_task, load_customers_task])
    vacuum_task = vacuum()
    notify(after=[vacuum_task])
