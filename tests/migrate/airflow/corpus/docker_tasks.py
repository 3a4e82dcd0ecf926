"""Tasks that run in their own image or virtualenv."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def containers():
    @task.docker(image="python:3.12-slim", auto_remove="success")
    def in_docker() -> int:
        return 6 * 7

    @task.virtualenv(requirements=["numpy==2.1.0"], system_site_packages=False)
    def in_venv(value: int) -> float:
        import numpy as np

        return float(np.sqrt(value))

    @task.kubernetes(image="ghcr.io/acme/report:1.0", namespace="jobs")
    def in_pod(root: float) -> str:
        return f"{root:.3f}"

    in_pod(in_venv(in_docker()))


containers()
