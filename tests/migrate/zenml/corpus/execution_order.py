"""Ordering steps that share no data, with ZenML's `after=` and invocation ids."""

from zenml import pipeline, step


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
    create_table()
    rows = load_rows(after="create_table")
    audit(rows, id="final_audit", after=["create_table", "load_rows"])


if __name__ == "__main__":
    ordered_pipeline()
