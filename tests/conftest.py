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
from collections.abc import Callable

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


#: Session fixtures that build or start something heavy (a venv, a server). The suite runs
#: on every core (pytest-xdist, `--dist loadgroup`); every test that uses one of these is
#: sent to the same worker, so each is built once per run instead of once per worker.
#: (The conformance suite's Airflow cases are spread over the workers: each worker migrates
#: one AIRFLOW_HOME of its own, which costs less than running them all one after another.)
HEAVY_FIXTURES = ("airflow", "mlflow_server", "zenml_outcomes")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        used = set(getattr(item, "fixturenames", ()))
        for name in HEAVY_FIXTURES:
            if name in used:
                item.add_marker(pytest.mark.xdist_group(name))
                break


def _prepare_in_background(config: pytest.Config) -> None:
    """Start installing the cached engine venvs while the first tests run.

    Only for a whole-suite run (no paths on the command line) and only in the
    controlling process; the fixtures that need a venv wait for it on its file lock.
    """
    import sys
    import threading
    from pathlib import Path

    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    if hasattr(config, "workerinput") or not whole_suite:
        return
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here / "airflow"), str(here / "tracking"), str(here / "migrate" / "zenml")]
    import airflowenv
    import mlflowenv
    import podkit
    import zenmlenv

    def build(ensure: Callable[[], object]) -> None:
        try:
            ensure()
        except Exception:  # the fixture that needs it reports the failure, with its reason
            return

    for ensure in (
        airflowenv.ensure_venv,
        mlflowenv.ensure_venv,
        zenmlenv.ensure_zenml_venv,
        podkit.pod_python,  # the s3fs-only pod venv of the code-package tests (issue 14)
    ):
        threading.Thread(target=build, args=(ensure,), daemon=True).start()


def pytest_configure(config: pytest.Config) -> None:
    _prepare_in_background(config)
