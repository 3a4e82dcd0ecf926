"""Order-only dependencies with after=, status-aware steps (run=), and exit / failure hooks."""

from portaflow import RunStatus, pipeline, step


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
def report(table: str, load: RunStatus) -> str:
    """Runs once the load finished, whatever its status (run="done"); the runner fills `load`."""
    return f"load of {table} {load.status}"


@step
def quarantine(table: str) -> str:
    """Runs only if the load failed (run="failed")."""
    return f"quarantined {table}"


@step
def cleanup(run: RunStatus) -> None:
    """Always runs when the pipeline ends; `run` is the pipeline's final status."""
    print(f"cleanup after a {run.status} run; failed tasks: {list(run.failed_tasks)}")


@step
def page_oncall(table: str = "events") -> None:
    """Runs only when the pipeline failed."""
    print(f"paging about {table}")


@pipeline(on_exit=cleanup, on_failure=page_oncall)
def hooks_and_after(table: str = "events"):
    """create -> load (ordered without data) -> vacuum after the load; report whatever
    the load did, quarantine only if it failed."""
    created = create_table(table)
    rows = load_rows(table, after=[created])
    vacuum(table, after=[rows])
    report(table, after=[rows], run="done")
    quarantine(table, after=[rows], run="failed")
