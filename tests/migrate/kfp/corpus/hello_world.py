"""The KFP "Hello World" pipeline from the getting-started guide."""

from kfp import compiler, dsl


# A lightweight Python component: its body runs in the base image.
@dsl.component(base_image="python:3.11", install_kfp_package=False)
def say_hello(name: str) -> str:
    hello_text = f"Hello, {name}!"
    print(hello_text)
    return hello_text


@dsl.pipeline(name="hello-pipeline")
def hello_pipeline(recipient: str = "World") -> str:
    hello_task = say_hello(name=recipient)  # one task
    return hello_task.output


if __name__ == "__main__":
    # Writes the IR YAML that the KFP UI uploads.
    compiler.Compiler().compile(hello_pipeline, "pipeline.yaml")
