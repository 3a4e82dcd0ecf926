"""A project whose steps live in a `steps/` package, imported three ways."""

import steps.train as training
from steps import prepare
from steps.prepare import tidy

from portaflow import pipeline


@pipeline(name="word-count")
def multi_module(url: str = "https://example.com/corpus.txt"):
    """fetch -> tidy -> count words."""
    lines = prepare.fetch(url)
    clean = tidy(lines)
    counts = training.count_words(clean)
    training.summary(counts)
