"""A step that fails: the run fails, its downstream is upstream-failed, both hooks run."""

from portaflow import pipeline, step


@step
def prepare() -> int:
    return 1


@step
def boom(x: int) -> int:
    raise RuntimeError(f"boom {x}")


@step
def after_boom(y: int) -> int:
    return y


@step
def alert(reason: str = "failed") -> str:
    return reason


@step
def tidy() -> str:
    return "tidied"


@pipeline(on_failure=alert, on_exit=tidy)
def failing():
    after_boom(boom(prepare()))
