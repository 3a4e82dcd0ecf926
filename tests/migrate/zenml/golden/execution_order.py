"""Ordering steps that share no data, with ZenML's `after=` and invocation ids."""

from portaflow import pipeline, step


@step
def create_table() -> None:
    print("table created")


@step
def load_rows() -> int:
    return 42


@step
def audit(rows: int) -> str:
    return f"audited {rows} rows"


@pipeline
def ordered_pipeline():
    create_table_done = create_table()
    rows = load_rows(after=[create_table_done])
    audit(rows, after=[create_table_done, rows])


# Run it with: portaflow run execution_order.py
