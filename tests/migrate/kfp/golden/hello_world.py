"""The KFP "Hello World" pipeline from the getting-started guide."""

from portaflow import pipeline, step


# A lightweight Python component: its body runs in the base image.
@step(image="python:3.11")
def say_hello(name: str) -> str:
    hello_text = f"Hello, {name}!"
    print(hello_text)
    return hello_text


@pipeline(name="hello-pipeline")
def hello_pipeline(recipient: str = "World") -> str:
    hello_task = say_hello(name=recipient)  # one task
    return hello_task


if __name__ == "__main__":
    # Writes the IR YAML that the KFP UI uploads.
    raise SystemExit("compile with: portaflow compile hello_world.py --target kfp -o DIR")
