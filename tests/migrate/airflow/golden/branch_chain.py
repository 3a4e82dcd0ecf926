"""A branch whose paths are chains; a task after the chosen path only; a join for both."""

from __future__ import annotations

from datetime import datetime

from portaflow import pipeline, step


@step
def score() -> float:
    return 0.93


@step
def gate(value: float) -> list[str]:
    """Both checks may run; the list names the tasks to follow."""
    chosen = ["publish"]
    if value < 0.5:
        chosen = ["alert"]
    return chosen


@step
def publish(value: float) -> str:
    return f"publish {value}"


@step
def announce(message: str) -> str:
    return message.upper()


@step
def alert() -> str:
    return "alert"


@step
def archive() -> str:
    return "archived"


@pipeline
def quality_gate():
    value = score()
    chosen = gate(value)
    if "publish" in chosen:
        published = publish(value)
        shouted = announce(published)  # only when publish ran
    if "alert" in chosen:
        alerted = alert()
    archive(after=[shouted, alerted])
