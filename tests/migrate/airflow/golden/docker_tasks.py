"""Tasks that run in their own image or virtualenv."""

from __future__ import annotations

from datetime import datetime

from portaflow import pipeline, step


@step(image="python:3.12-slim")
def in_docker() -> int:
    return 6 * 7


@step
def in_venv(value: int) -> float:
    import numpy as np

    return float(np.sqrt(value))


@step(image="ghcr.io/acme/report:1.0")
def in_pod(root: float) -> str:
    return f"{root:.3f}"


@pipeline
def containers():
    in_pod(in_venv(in_docker()))
