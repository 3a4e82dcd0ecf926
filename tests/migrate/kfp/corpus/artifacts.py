"""Passing a Dataset artifact between components (KFP docs, "Artifacts")."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def create_dataset(text: str, dataset: Output[Dataset]):
    # Artifacts are files: the component writes to `dataset.path`.
    with open(dataset.path, "w") as f:
        f.write(text.upper())


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def count_words(dataset: Input[Dataset]) -> int:
    with open(dataset.path) as f:
        content = f.read()
    return len(content.split())


@dsl.pipeline(name="dataset-passing")
def dataset_pipeline(text: str = "a few words to count"):
    create_task = create_dataset(text=text)
    count_words(dataset=create_task.outputs["dataset"])  # the artifact, by name
