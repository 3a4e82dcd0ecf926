"""Decorator values the orchestrators would reject at submit time are located errors at `check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from portaflow.compiler.configvalues import MAX_INT, parse_duration, valid_cron
from portaflow.compiler.frontend import analyze

GOOD_CRONS = [
    "0 3 * * *",
    "*/15 * * * *",
    "0 0 1 jan-mar mon-fri",
    "0 9-17/2 * * 1,3,5",
    "@daily",
    "0 0 ? * 7",
    "59 23 31 12 0",
    "0 0 * * SUN",
]
BAD_CRONS = [
    "99 99 * * *",
    "0 24 * * *",
    "0 0 0 * *",
    "0 0 * 13 *",
    "0 0 * * 8",
    "*/0 * * * *",
    "5-1 * * * *",
    "0 0 * foo *",
    "a b c d e",
    "0 0 * * * *",
    "1--2 * * * *",
    "-1 * * * *",
    ",,, * * * *",
]


@pytest.mark.parametrize("cron", GOOD_CRONS)
def test_valid_crons_are_accepted(cron: str) -> None:
    assert valid_cron(cron)


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_out_of_range_crons_are_refused(cron: str) -> None:
    assert not valid_cron(cron)


def test_a_bad_cron_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    f = tmp_path / "pipeline.py"
    f.write_text(
        "from portaflow import Schedule, pipeline, step\n\n\n@step\ndef a() -> int:\n    return 1\n\n\n"
        '@pipeline(schedule=Schedule(cron="61 * * * *"))\ndef p():\n    a()\n'
    )
    [d] = analyze(f).errors
    assert (d.code, d.line) == ("PF302", 9), d.render()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90),
        ("1h30m", 5400),
        ("2d", 172800),
        (1.5, 1),
        (MAX_INT, MAX_INT),
        (MAX_INT + 1, None),
        ("99999999999d", None),
        (float("inf"), None),
        (float("nan"), None),
        (-1, None),
        (True, None),
        ("", None),
    ],
)
def test_durations_stay_within_what_the_orchestrators_store(
    value: object, seconds: int | None
) -> None:
    assert parse_duration(value) == seconds
