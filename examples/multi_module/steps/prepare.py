"""Preparation steps."""

from lib.text import normalise

from portaflow import step as s


@s
def fetch(url: str) -> list[str]:
    """Pretend to download lines of text."""
    return [f"{url} line {i}" for i in range(3)]


@s(cache=False)
def tidy(lines: list[str]) -> list[str]:
    """Normalise every line with the shared helper."""
    return [normalise(line) for line in lines]
