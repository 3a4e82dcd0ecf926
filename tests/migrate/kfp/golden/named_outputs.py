"""Several outputs from one component with a NamedTuple (KFP docs, "Component I/O")."""

from typing import Annotated, NamedTuple

from portaflow import pipeline, step


@step(image="python:3.11")
def split_total(total: int) -> tuple[Annotated[int, "train"], Annotated[int, "test"]]:
    train = total * 8 // 10
    outputs = NamedTuple("Outputs", [("train", int), ("test", int)])
    return outputs(train, total - train)


@step(image="python:3.11")
def describe(train: int, test: int) -> str:
    return f"{train} train / {test} test"


@pipeline(name="named-outputs")
def split_pipeline(total: int = 100):
    split_task_train, split_task_test = split_total(total=total)
    describe(
        train=split_task_train,
        test=split_task_test,  # both outputs, by name
    )
