"""A real ZenML for the tests: a venv of its own, cached between runs, and a private store per run.

The venv lives under ~/.cache/portaflow-tests/zenml-<hash> (override the folder with
PORTAFLOW_TEST_CACHE); the hash covers the requirements and the Python version. It is
used only once its `.complete` marker exists, so an interrupted install is redone, and a
file lock makes concurrent sessions wait for one install. Nothing ZenML writes ever lands
in the user's home: `zenml_env` points ZenML's config, repository and local store at a
scratch folder. The lead can build the venv ahead of the tests:
`python tests/migrate/zenml/zenmlenv.py` (prints the path and the install seconds).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[2]
if str(_TESTS) not in sys.path:  # run as a script
    sys.path.append(str(_TESTS))

import venvkit  # noqa: E402
from venvkit import cache_root  # noqa: E402,F401  (re-exported for callers)

ZENML_VERSION = "0.98.0"
#: ZenML with its local store, and what the executed corpus files import (pandas, numpy).
#: Nothing more: scikit-learn and pyarrow would triple the install (ZenML's pandas
#: materializer writes CSV without pyarrow, which is all the comparison needs).
REQUIREMENTS = (
    f"zenml[local]=={ZENML_VERSION}",
    "pandas>=2.0",
    "numpy",
)


def venv_key() -> str:
    return venvkit.venv_key(REQUIREMENTS)


def venv_path() -> Path:
    return venvkit.venv_path("zenml", REQUIREMENTS)


def install_seconds(path: Path) -> float:
    """Seconds the install of the venv at `path` took, as recorded in its marker."""
    return venvkit.CachedVenv(path, 0.0).recorded_install_seconds()


def ensure_zenml_venv() -> Path:
    """The cached ZenML venv (its folder), installing it first when needed.

    Raises RuntimeError with pip's output when the install fails.
    """
    return venvkit.ensure("zenml", REQUIREMENTS, what="ZenML").path


def zenml_env(scratch: Path) -> dict[str, str]:
    """Environment for ZenML processes whose config, repository and store live in `scratch`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZENML")}
    env.update(
        ZENML_CONFIG_PATH=str(scratch / "config"),
        ZENML_LOCAL_STORES_PATH=str(scratch / "stores"),
        ZENML_REPOSITORY_PATH=str(scratch),
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        ZENML_LOGGING_VERBOSITY="WARN",
        ZENML_DEBUG="false",
        AUTO_OPEN_DASHBOARD="false",
        PYTHONPATH="",
        HOME=str(scratch / "home"),
    )
    return env


if __name__ == "__main__":  # python tests/migrate/zenml/zenmlenv.py: install (or find) the venv
    got = ensure_zenml_venv()
    print(got, f"{install_seconds(got):.1f}s")
