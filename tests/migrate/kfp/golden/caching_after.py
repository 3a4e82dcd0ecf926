"""Caching off for one task, and ordering without data with .after() (KFP docs)."""

from portaflow import pipeline, step


@step(image="python:3.11")
def create_table(name: str) -> str:
    print(f"create {name}")
    return name


@step(image="python:3.11")
def load_rows(name: str) -> int:
    return len(name) * 10


@step(image="python:3.11", cache=False)
def vacuum(name: str) -> str:
    return f"vacuumed {name}"


@pipeline(name="caching-and-after")
def table_pipeline(table: str = "events"):
    created = create_table(name=table)
    rows = load_rows(name=table, after=[created])
    # load only once the table exists
    # Always vacuum: never served from the cache.
    vacuum(name=table, after=[rows])


if __name__ == "__main__":
    raise SystemExit("compile with: portaflow compile caching_after.py --target kfp -o DIR")
