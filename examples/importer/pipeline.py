"""Existing artifacts as pipeline values: `importer` and `model_version`.

`importer(uri, type=T)` brings in a file, folder or artifact that no step of the
run made: `uri` is a string or a `str` parameter (a path, `s3://`, `gs://`,
`https://`...), and the value is loaded as `T` (here a plain file as a `Path`
and the bytes of another). Every run fetches it again, and its sha256 is part of
the cache key of each step that reads it, so a changed file is never a stale
cache hit. `model_version(name, stage="production")` is the model artifact of a
registered version, read from the store's registry when the run starts that
task: `score.py` beside this file scores new notes with the production vocabulary.

    portaflow run examples/importer/pipeline.py                   # registers version 1
    portaflow models promote vocabulary 1 --stage production --root examples/importer
    portaflow run examples/importer/score.py
"""

import json
from pathlib import Path
from typing import Annotated

from portaflow import Model, importer, pipeline, step


@step
def count_words(notes: Path) -> int:
    """How many words the notes hold."""
    return len(notes.read_text(encoding="utf-8").split())


@step
def fit(notes: Path, stopwords: bytes) -> Annotated[bytes, "model"]:
    """A vocabulary 'model': every word of the notes that is not a stopword."""
    stop = set(stopwords.decode("utf-8").split())
    words = sorted(set(notes.read_text(encoding="utf-8").split()) - stop)
    return json.dumps(words).encode("utf-8")


@step
def coverage(model: bytes, notes: Path) -> float:
    """The share of the notes' words the vocabulary knows."""
    vocabulary = set(json.loads(model))
    words = notes.read_text(encoding="utf-8").split()
    return round(sum(w in vocabulary for w in words) / max(len(words), 1), 4)


@pipeline(model=Model(name="vocabulary"))
def importer_demo(notes_uri: str = "data/notes.txt"):
    """Import notes and stopwords, fit a vocabulary and score it on the notes."""
    notes = importer(notes_uri, type=Path, metadata={"owner": "docs", "license": "CC0"})
    stopwords = importer("data/stopwords.txt", type=bytes)
    words = count_words(notes)
    model = fit(notes, stopwords)
    score = coverage(model, notes)
    return words, score
