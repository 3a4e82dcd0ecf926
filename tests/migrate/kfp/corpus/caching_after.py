"""Caching off for one task, and ordering without data with .after() (KFP docs)."""

import kfp
from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def create_table(name: str) -> str:
    print(f"create {name}")
    return name


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def load_rows(name: str) -> int:
    return len(name) * 10


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def vacuum(name: str) -> str:
    return f"vacuumed {name}"


@dsl.pipeline(name="caching-and-after")
def table_pipeline(table: str = "events"):
    created = create_table(name=table)
    rows = load_rows(name=table)
    rows.after(created)  # load only once the table exists
    # Always vacuum: never served from the cache.
    vacuum(name=table).after(rows).set_caching_options(False)


if __name__ == "__main__":
    kfp.compiler.Compiler().compile(
        pipeline_func=table_pipeline, package_path="table_pipeline.yaml"
    )
