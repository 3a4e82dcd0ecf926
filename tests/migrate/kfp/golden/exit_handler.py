"""A cleanup task that runs however the pipeline ends (KFP samples, exit_handler)."""

from portaflow import pipeline, step


@step(image="python:3.11")
def print_op(message: str) -> str:
    print(message)
    return message


@step(image="python:3.11")
def clean_up() -> str:
    return "cleaned up"


@pipeline(name="pipeline-with-exit-handler", on_exit=clean_up)
def pipeline_exit_handler(message: str = "Hello World!"):
    # everything inside is guarded
    first = print_op(message=message)
    print_op(message=first)
