# The "hello world" of ZenML's quickstart: one step, one pipeline.
from portaflow import pipeline, step


@step
def say_hello() -> str:
    """Returns the greeting."""
    return "Hello World!"


@step
def shout(greeting: str) -> str:
    return greeting.upper()  # louder


@pipeline
def hello_pipeline():
    greeting = say_hello()
    shout(greeting)


# Run the pipeline on the active stack.
# Run it with: portaflow run hello_world.py
