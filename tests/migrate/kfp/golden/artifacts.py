"""Passing a Dataset artifact between components (KFP docs, "Artifacts")."""

from typing import Annotated

from portaflow import pipeline, step


@step(image="python:3.11")
def create_dataset(text: str) -> Annotated[str, "dataset"]:
    # Artifacts are files: the component writes to `dataset.path`.
    return text.upper()


@step(image="python:3.11")
def count_words(dataset: str) -> int:
    content = dataset
    return len(content.split())


@pipeline(name="dataset-passing")
def dataset_pipeline(text: str = "a few words to count"):
    create_task = create_dataset(text=text)
    count_words(dataset=create_task)  # the artifact, by name
