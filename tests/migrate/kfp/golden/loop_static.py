"""A static ParallelFor over a list of dicts, reading item fields (KFP samples, loop_static)."""

from portaflow import pipeline, step


@step(image="python:3.11")
def print_text(msg: str) -> str:
    print(msg)
    return msg


@step(image="python:3.11")
def concat_message(first: str, second: str) -> str:
    return first + second


@pipeline(name="pipeline-with-loop-static")
def my_pipeline(greeting: str = "this is a test for looping through parameters"):
    print_task = print_text(msg=greeting)

    # One iteration per dict; `item.a` reads a field of the current dict.
    for item in [{"a": "1", "b": "2"}, {"a": "10", "b": "20"}]:
        concat_task = concat_message(first=item["a"], second=item["b"])
        print_text(msg=concat_task, after=[print_task])
