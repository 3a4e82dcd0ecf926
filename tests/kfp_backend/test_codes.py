"""The KFP backend's diagnostic codes: in its range, unique, and each documented."""

from __future__ import annotations

from pathlib import Path

from portaflow.backends.kfp import codes

DOC = Path(__file__).resolve().parents[2] / "docs" / "backends" / "kfp.md"


def test_codes_are_unique_documented_and_in_range() -> None:
    found = {v for k, v in vars(codes).items() if k.isupper()}
    assert len(found) == len([k for k in vars(codes) if k.isupper()])
    doc = DOC.read_text()
    for code in found:
        assert 600 <= int(code[2:]) <= 699, code
        assert f"| {code} |" in doc, f"{code} is not in {DOC.name}"
