"""Image mode's settings: the stack keys and pyproject.toml's dependencies, as located diagnostics.

Every problem is a PF44x diagnostic naming the TOML file, line and column, with a hint
(never a traceback); warnings do not stop the image.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from portaflow.compiler.diagnostics import CODES
from portaflow.compiler.imagefile import (
    image_settings,
    not_image_mode,
    project_requirements,
    require_repository,
    requirement_problem,
)
from portaflow.compiler.stacks import KNOWN_KEYS, load_stack

PYPROJECT = """\
[project]
name = "p"
version = "0"
dependencies = [
    "pandas==2.2.3",
    {dep}
]

[tool.portaflow.stacks.img]
code = "image"
{stack}
"""


def _codes(root: Path, stack: str = "img") -> list[tuple[str, str, int]]:
    settings = load_stack(root, stack).settings
    found, diags = image_settings(root, stack, settings)
    if found is not None:
        diags += require_repository(root, stack, found)
    return [(d.code, d.severity, d.line) for d in diags]


def _write(tmp_path: Path, dep: str = '"numpy==2.1.0",', stack: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(dep=dep, stack=stack))
    return tmp_path


def test_the_keys_are_known_stack_keys() -> None:
    assert {"code", "base_image", "image_repository"} <= set(KNOWN_KEYS)
    for code in ("PF440", "PF441", "PF442", "PF443", "PF444", "PF445", "PF446"):
        assert code in CODES


def test_a_good_stack_has_no_diagnostics(tmp_path: Path) -> None:
    root = _write(tmp_path, stack='image_repository = "ghcr.io/acme/p"')
    assert _codes(root) == []


def test_missing_repository_is_pf440_at_the_stack(tmp_path: Path) -> None:
    root = _write(tmp_path)
    assert _codes(root) == [("PF440", "error", 9)]  # the [tool.portaflow.stacks.img] header
    settings, _ = image_settings(root, "img", load_stack(root, "img").settings)
    assert settings is not None
    text = require_repository(root, "img", settings)[0].render()
    assert text.startswith("pyproject.toml:9:1: error PF440: stack 'img' uses an image")
    assert "= hint: add image_repository" in text


@pytest.mark.parametrize(
    ("stack", "line"),
    [
        ('image_repository = "ghcr.io/acme/p:1.0"', 11),
        ('image_repository = "ghcr.io/acme/p"\nbase_image = "python"', 12),
        ('image_repository = "ghcr.io/acme/p"\nbase_image = "python:latest"', 12),
        ('image_repository = "ghcr.io/acme/p"\nbase_image = "$BASE:1"', 12),
    ],
)
def test_bad_references_are_pf441_at_their_key(tmp_path: Path, stack: str, line: int) -> None:
    root = _write(tmp_path, stack=stack)
    assert ("PF441", "error", line) in _codes(root)


@pytest.mark.parametrize(
    "dep",
    [
        '"-e .",',
        '"--index-url=https://evil.example/simple",',
        '"pandas\\nRUN id",',
        '"portaflow[nope]",',
        "\"portaflow[ml]; python_version > '3'\",",
        '"not a requirement!",',
    ],
)
def test_bad_dependencies_are_pf442_at_their_line(tmp_path: Path, dep: str) -> None:
    root = _write(tmp_path, dep=dep, stack='image_repository = "r/p"')
    assert _codes(root) == [("PF442", "error", 6)]


def test_dynamic_or_malformed_dependencies(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\ndynamic = ["dependencies"]\n'
    )
    _, diags = project_requirements(tmp_path)
    assert [(d.code, d.line) for d in diags] == [("PF442", 4)]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = "pandas"\n')
    _, diags = project_requirements(tmp_path)
    assert [(d.code, d.line) for d in diags] == [("PF442", 3)]
    (tmp_path / "pyproject.toml").write_text("[project\n")
    _, diags = project_requirements(tmp_path)
    assert [d.code for d in diags] == ["PF442"]


def test_no_project_table_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.portaflow]\ndefault_stack = "x"\n')
    reqs, diags = project_requirements(tmp_path)
    assert reqs == []
    assert [(d.code, d.severity) for d in diags] == [("PF443", "warning")]
    reqs, diags = project_requirements(tmp_path / "nowhere")
    assert reqs == [] and [d.code for d in diags] == ["PF443"]


def test_image_with_image_mode_is_pf444(tmp_path: Path) -> None:
    root = _write(tmp_path, stack='image_repository = "r/p"\nimage = "python:3.11"')
    assert _codes(root) == [("PF444", "error", 12)]


def test_not_image_mode_warning_names_the_stack(tmp_path: Path) -> None:
    root = _write(tmp_path)
    d = not_image_mode(root, "img")
    assert (d.code, d.severity) == ("PF445", "warning")
    assert "stack 'img' is not in image mode" in d.render()


def test_user_order_is_kept_and_duplicates_dropped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["zeta==1", "alpha==2", "zeta==1", '
        '"portaflow[store]", "fsspec>=2024.2"]\n'
    )
    reqs, diags = project_requirements(tmp_path)
    assert diags == []
    assert reqs == ["zeta==1", "alpha==2", "fsspec>=2024.2", "s3fs>=2024.2"]


def test_kfp_python_executor_installs_kfp(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = []\n')
    assert project_requirements(tmp_path, {"target": "kfp"})[0] == ["kfp==2.17.3"]
    assert project_requirements(tmp_path, {"target": "kfp", "kfp_executor": "container"})[0] == []
    assert project_requirements(tmp_path, {"target": "argo"})[0] == []


def test_portaflow_toml_stack_is_located(tmp_path: Path) -> None:
    (tmp_path / "portaflow.toml").write_text(
        '[stacks.img]\ncode = "image"\nimage_repository = "r/p:1"\n'
    )
    settings = load_stack(tmp_path, "img").settings
    _, diags = image_settings(tmp_path, "img", settings)
    assert [(d.path, d.code, d.line) for d in diags if d.severity == "error"] == [
        ("portaflow.toml", "PF441", 3)
    ]


def test_a_store_url_without_fsspec_is_a_warning(tmp_path: Path) -> None:
    stack = 'image_repository = "r/p"\nstore = "s3://bucket/team"'
    root = _write(tmp_path, stack=stack)
    assert _codes(root) == [("PF446", "warning", 12)]
    root = _write(tmp_path, dep='"portaflow[store]",', stack=stack)
    assert _codes(root) == []


def test_extras_keep_markers_other_than_the_extra() -> None:
    from portaflow.compiler.imagefile import extras_of

    requires = [
        "click>=8.1",
        'tomli>=2; python_version < "3.11"',
        'pandas>=2.0; extra == "ml"',
        'numpy>=1; python_version < "3.12" and extra == "ml"',
        'torch==2; (sys_platform == "linux" or sys_platform == "darwin") and extra == "gpu"',
        'jax==1; (os_name == "posix") and (python_version >= "3.10") and extra == "gpu"',
    ]
    assert extras_of(requires) == {
        "ml": ["pandas>=2.0", 'numpy>=1; python_version < "3.12"'],
        "gpu": [
            'torch==2; (sys_platform == "linux" or sys_platform == "darwin")',
            'jax==1; os_name == "posix" and python_version >= "3.10"',
        ],
    }
    for reqs in extras_of(requires).values():
        assert all(requirement_problem(r) is None for r in reqs)
