"""Fan-out shapes: an empty dynamic list, two dynamic levels, a sub-pipeline with a loop, artifacts in a loop."""

from portaflow import pipeline, step


@step
def nothing() -> list[str]:
    return []


@step
def groups(n: int) -> list[str]:
    return [f"g{i}" for i in range(n)]


@step
def members(group: str) -> list[str]:
    return [f"{group}.m{i}" for i in range(2)]


@step
def shout(word: str) -> str:
    return word.upper()


@step
def blob(word: str) -> bytes:
    return word.encode() * 3


@step
def size(data: bytes) -> int:
    return len(data)


@step
def count(words: list[str]) -> int:
    return len(words)


@step
def total(sizes: list[int]) -> int:
    return sum(sizes)


@pipeline
def part(words: list[str]):
    total([size(blob(w)) for w in words])


@pipeline
def shapes(n: int = 2):
    empty = [shout(w) for w in nothing()]
    count(empty)
    loud = [shout(m) for g in groups(n) for m in members(g)]
    count(loud)
    part(["a", "bb"])
