"""Plain helpers (not steps) shared by the steps; they count in the steps' code hashes."""


def normalise(line: str) -> str:
    return " ".join(line.lower().split())


def words(line: str) -> list[str]:
    return normalise(line).split(" ")
