"""DAG params: a typed Param, a plain default, a DAG function argument and a template."""

from __future__ import annotations

import pendulum

from portaflow import pipeline, step


@step
def make(greeting: str, name: str, n: int) -> list[str]:
    return [f"{greeting}, {name}!"] * n


@step
def shout(lines: list[str], loud: bool) -> str:
    text = "\n".join(lines)
    return text.upper() if loud else text


# "{{ params.n }}" renders to an int
# how many greetings
@pipeline
def greetings(greeting: str = "hello", n: int = 3, name: str = "world", loud: bool = False):
    lines = make(greeting, name, n=n)
    shout(lines, loud=loud)
