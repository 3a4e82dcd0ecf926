# Pipeline parameters, passed when the pipeline is run (ZenML's "parameters" guide).
from portaflow import pipeline, step


@step
def make_numbers(count: int) -> list[int]:
    return list(range(count))


@step
def scale_numbers(numbers: list[int], factor: float = 1.0) -> list[float]:
    return [n * factor for n in numbers]


@step
def describe(values: list[float], label: str) -> str:
    return f"{label}: {len(values)} values, max {max(values)}"


@pipeline
def param_pipeline(count: int = 5, factor: float = 2.0, label: str = "scaled"):
    numbers = make_numbers(count=count)
    values = scale_numbers(numbers, factor=factor)
    describe(values, label=label)


# Run it with: portaflow run parameters.py --param count=4 --param factor=0.5 --param label=halved
