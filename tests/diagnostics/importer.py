from pathlib import Path

from portaflow import importer, model_version, pipeline, step


@step
def make() -> str:
    return "a.txt"


@step
def take(x: Path) -> int:
    return 1


@pipeline
def imports(uri: str = "data.txt", n: int = 1):
    take(importer(uri, type=Path, mode="r"))  # E: PF270
    take(importer(make(), type=Path))  # E: PF271
    take(importer(n, type=Path))  # E: PF271
    take(importer(uri, type=int))  # E: PF272
    take(importer(uri, type=Path, metadata=[1]))  # E: PF273
    take(model_version("m", stage="production", version=2))  # E: PF274
    take(importer(uri, type=Path, metadata={"owner": "ml"}))
    take(model_version("m", version=3))
