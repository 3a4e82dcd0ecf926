"""A cleanup task that runs however the pipeline ends (KFP samples, exit_handler)."""

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def print_op(message: str) -> str:
    print(message)
    return message


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def clean_up() -> str:
    return "cleaned up"


@dsl.pipeline(name="pipeline-with-exit-handler")
def pipeline_exit_handler(message: str = "Hello World!"):
    exit_task = clean_up()

    with dsl.ExitHandler(exit_task=exit_task):  # everything inside is guarded
        first = print_op(message=message)
        print_op(message=first.output)
