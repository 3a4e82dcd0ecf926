"""Order-only dependencies with after=, and exit / failure hooks."""

from portaflow import pipeline, step


@step
def create_table(name: str) -> None:
    print(f"create {name}")


@step
def load_rows(name: str) -> int:
    return 42


@step
def vacuum(name: str) -> None:
    print(f"vacuum {name}")


@step
def cleanup() -> None:
    """Always runs when the pipeline ends."""
    print("cleanup")


@step
def page_oncall(table: str = "events") -> None:
    """Runs only when the pipeline failed."""
    print(f"paging about {table}")


@pipeline(on_exit=cleanup, on_failure=page_oncall)
def hooks_and_after(table: str = "events"):
    """create -> load (ordered without data) -> vacuum after the load."""
    created = create_table(table)
    rows = load_rows(table, after=[created])
    vacuum(table, after=[rows])
