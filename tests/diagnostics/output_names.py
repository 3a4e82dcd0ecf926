from typing import Annotated

from portaflow import pipeline, step


@step
def twice() -> tuple[Annotated[int, "x"], Annotated[int, "x"]]:  # E: PF303
    return 1, 2


@step
def clash() -> tuple[Annotated[int, "output_1"], int]:  # E: PF303
    return 1, 2


@step
def unnamed() -> Annotated[int, ""]:  # E: PF303
    return 1


@step
def fine() -> tuple[Annotated[int, "a"], Annotated[int, "b"], int]:
    return 1, 2, 3


@pipeline
def outputs():
    a, b = twice()
    c, d = clash()
    unnamed()
    e, f, g = fine()
    later()


@step
async def later() -> int:  # E: PF303
    return 1
