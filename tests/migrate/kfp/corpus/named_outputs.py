"""Several outputs from one component with a NamedTuple (KFP docs, "Component I/O")."""

from typing import NamedTuple

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def split_total(total: int) -> NamedTuple("Outputs", [("train", int), ("test", int)]):
    train = total * 8 // 10
    outputs = NamedTuple("Outputs", [("train", int), ("test", int)])
    return outputs(train, total - train)


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def describe(train: int, test: int) -> str:
    return f"{train} train / {test} test"


@dsl.pipeline(name="named-outputs")
def split_pipeline(total: int = 100):
    split_task = split_total(total=total)
    describe(
        train=split_task.outputs["train"],
        test=split_task.outputs["test"],  # both outputs, by name
    )
