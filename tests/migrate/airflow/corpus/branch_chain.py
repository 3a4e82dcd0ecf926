"""A branch whose paths are chains; a task after the chosen path only; a join for both."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task
from airflow.utils.trigger_rule import TriggerRule


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def quality_gate():
    @task
    def score() -> float:
        return 0.93

    @task.branch
    def gate(value: float) -> list[str]:
        """Both checks may run; the list names the tasks to follow."""
        chosen = ["publish"]
        if value < 0.5:
            chosen = ["alert"]
        return chosen

    @task
    def publish(value: float) -> str:
        return f"publish {value}"

    @task
    def announce(message: str) -> str:
        return message.upper()

    @task
    def alert() -> str:
        return "alert"

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def archive() -> str:
        return "archived"

    value = score()
    chosen = gate(value)
    published = publish(value)
    shouted = announce(published)  # only when publish ran
    alerted = alert()
    chosen >> [published, alerted]
    [shouted, alerted] >> archive()


quality_gate()
