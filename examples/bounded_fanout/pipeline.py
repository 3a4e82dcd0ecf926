"""Bounded fan-out (`parallel(xs, limit=N)`), module constants in decorator arguments, outputs."""

import os

from portaflow import parallel, pipeline, step

#: Module constants: the compiler evaluates them statically, and they enter the code hash.
LIMIT = 2
UNIT = "mm"
ENV = {"PORTAFLOW_EXAMPLE_UNIT": UNIT}


@step(env=ENV)
def measure(part: str) -> str:
    """The size of one part, in the unit the decorator's environment names."""
    return f"{len(part)}{os.environ['PORTAFLOW_EXAMPLE_UNIT']}"


@step
def label(size: str, tag: str) -> str:
    return f"{tag}:{size}"


@step
def collect(sizes: list[str]) -> str:
    return ",".join(sizes)


@pipeline
def bounded_fanout(parts: list[str] = ["bolt", "nut", "washer", "gear"]):
    """Every part is measured, at most LIMIT at a time; labels at most one at a time."""
    sizes = [measure(p) for p in parallel(parts, limit=LIMIT)]
    for tag in parallel(["a", "b"], limit=1):
        label("1mm", tag)
    summary = collect(sizes)
    return summary
