"""Shared test options and fixtures, and the hypothesis settings profiles.

Profiles (pick one with `pytest --hypothesis-profile=NAME`):

- `default`: 200 examples per property; what `pytest` and CI run.
- `deep`: 5000 examples per property; run it before a release.
- `quick`: 20 examples, for a fast loop while editing.

Properties take their example count from the profile (never a fixed
`max_examples`), so `deep` deepens every one of them.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from pfhelpers import Golden

# The S3 store tests' moto server (one per session, started on first use).
pytest_plugins = ["s3kit"]

# Compiling and emitting a generated pipeline takes milliseconds, not microseconds, and the
# machine is shared: no per-example deadline, and no health check on slow generation.
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
# Under CI the default run is derandomized: the same commit gets the same examples, so a
# verdict is reproducible; on a developer's machine (and in `deep`) examples stay random
# and keep hunting for new failures.
_CI = {"derandomize": True, "database": None} if os.environ.get("CI") else {}
settings.register_profile("default", max_examples=200, **_COMMON, **_CI)  # type: ignore[arg-type]
settings.register_profile("deep", max_examples=5000, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("quick", max_examples=20, **_COMMON)  # type: ignore[arg-type]
# `--hypothesis-profile=NAME` is applied after this file is read, so it wins.
settings.load_profile("default")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden files from the current output (refused when CI is set)",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(bool(request.config.getoption("--update-golden")))
