"""Score new notes with the production version of the vocabulary `pipeline.py` registers.

`model_version("vocabulary", stage="production")` is resolved when the run
reaches it, from the registry of the store (locally `.portaflow/`; on Argo, KFP
and Airflow the stack's `store` URL, which they need for it): promoting another
version changes what the next run scores with, without recompiling.

    portaflow run examples/importer/pipeline.py
    portaflow models promote vocabulary 1 --stage production --root examples/importer
    portaflow run examples/importer/score.py --param notes_uri=data/notes.txt
"""

from pathlib import Path

from pipeline import coverage

from portaflow import importer, model_version, pipeline


@pipeline
def score_notes(notes_uri: str = "data/notes.txt"):
    """The production vocabulary's coverage of the notes at `notes_uri`."""
    notes = importer(notes_uri, type=Path)
    model = model_version("vocabulary", stage="production", artifact="fit.model")
    score = coverage(model, notes)
    return score
