import importlib

from portaflow import pipeline, step


def helper(x: int) -> int:
    return x + 1


def by_name(name: str) -> int:
    return globals()[name](1)  # W: PF910


@step
def computed(x: int, name: str = "helper") -> int:
    return getattr(importlib, name) and x  # W: PF910


@step
def literal(x: int) -> int:
    return getattr(importlib, "__name__") and helper(x)


@step
def indirect(x: int) -> int:
    exec("y = 1", {})  # W: PF910
    return by_name("helper") + x


@step
def shadowed(x: int) -> int:
    def getattr(o: object, n: str) -> int:
        return 1

    return getattr(x, str(x))


@pipeline
def p(n: int = 1):
    computed(n)
    literal(n)
    indirect(n)
    shadowed(n)
