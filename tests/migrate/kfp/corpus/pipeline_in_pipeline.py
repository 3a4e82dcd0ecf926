"""A pipeline used as a component of another (KFP docs, "Pipelines as components")."""

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def double(num: int) -> int:
    return 2 * num


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def add(a: int, b: int) -> int:
    return a + b


@dsl.pipeline
def inner_pipeline(num: int) -> int:
    """Doubles twice."""
    first = double(num=num)
    return double(num=first.output).output


@dsl.pipeline(name="pipeline-in-pipeline")
def outer_pipeline(x: int = 3, y: int = 5):
    left = inner_pipeline(num=x)
    right = inner_pipeline(num=y)
    add(a=left.output, b=right.output)
