"""Helpers for the training steps, imported relatively."""


def top_words(counts: dict[str, int], n: int = 3) -> list[str]:
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]
