import os

from portaflow import parallel, pipeline, step

FROM_ENV = os.environ.get("IMAGE", "x")
TWICE = "a"
TWICE = "b"
GOOD = "ghcr.io/acme/" + "train"


@step(image=FROM_ENV)  # E: PF250
def a(x: int) -> int:
    return x


@step(env={"MODE": TWICE}, image=GOOD)  # E: PF250
def b(x: int) -> str:
    return str(x)


@step
def c(x: int) -> int:
    return x


@pipeline(image=LATER)  # E: PF250
def flow(xs: list[int] = [1, 2], n: int = 2):
    for x in parallel(xs, limit=0):  # E: PF251
        a(x)
    for x in parallel(xs, limit=n):  # E: PF251
        a(x)
    for x in parallel(xs, limit=2, order=True):  # E: PF251
        a(x)
    _ys = [a(x) for x in parallel(xs)]  # E: PF251
    first = a(1)
    if first > 1:
        merged = a(2)
    else:
        merged = c(2)
    c(merged)
    if first > 2:  # E: PF253
        other = a(3)
    else:
        other = b(3)
    c(other)  # E: PF234
    if first > 3:  # E: PF253
        kept = a(4)
    else:
        kept = first
    c(kept)
    return first, xs  # E: PF252


LATER = "late"
