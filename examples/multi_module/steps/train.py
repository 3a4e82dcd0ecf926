"""Training steps."""

from lib import text

import portaflow as pf

from .helpers import top_words


@pf.step(retries=pf.Retry(max=1), timeout=600)
def count_words(lines: list[str]) -> dict[str, int]:
    """Word counts over all lines."""
    counts: dict[str, int] = {}
    for line in lines:
        for word in text.words(line):
            counts[word] = counts.get(word, 0) + 1
    return counts


@pf.step
def summary(counts: dict[str, int]) -> list[str]:
    """The most frequent words."""
    return top_words(counts)
