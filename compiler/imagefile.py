"""Image mode: a deterministic Dockerfile + .dockerignore for a pipeline, and the tag manifests use.

`portaflow image PIPELINE -o DIR` writes three files into DIR, which is the whole
build context (docs/deploy-image.md):

- `Dockerfile`: FROM the stack's `base_image` (default `python:3.11-slim`), a
  `pip install --no-cache-dir` of the project's `[project].dependencies` (pyproject.toml
  of the project root, in the file's order, exact strings; a dependency on portaflow
  itself becomes the requirements of the extras it names, since portaflow's runtime
  travels in the code archive), ADD of `code.tar` into `/opt/portaflow/code`,
  `PYTHONPATH`/`PORTAFLOW_ROOT` pointing there, and a numeric non-root user.
- `code.tar`: the pipeline's code package (compiler/codepkg.py): portaflow's runtime and
  the project files the steps reach, the same bytes package mode publishes. Docker's ADD
  unpacks an uncompressed tar. DIR is a snapshot: the tag below always names what DIR holds.
- `.dockerignore`: only the Dockerfile and code.tar enter the build context.

The tag is `{image_repository}:pf-{sha256(Dockerfile bytes + package digest)[:16]}`, so
unchanged code and dependencies give the same tag (a rebuild is a no-op) and any change
gives a new one (a stale image is never used silently). In image mode (stack
`code = "image"`) the compiler makes that tag the default step image of every backend.

Every user value that reaches the Dockerfile is checked or quoted: the base image must
be an image reference (Docker would expand `$VAR` in FROM), each dependency must be a
PEP 508 requirement without control characters, and it is written as a JSON string of an
exec-form RUN (no shell ever reads it). Problems are diagnostics PF440-PF447 located in
the TOML file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from portaflow.compiler.diagnostics import Diagnostic, Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

#: FROM when the stack sets no `base_image`.
DEFAULT_BASE_IMAGE = "python:3.11-slim"
#: Where the code archive is unpacked in the image (first on PYTHONPATH, the task root).
CODE_DIR = "/opt/portaflow/code"
#: The code archive's name in the build context.
ARCHIVE = "code.tar"
#: The numeric user the image runs as (no /etc/passwd entry needed; satisfies runAsNonRoot).
USER = "1000:1000"
#: Files `portaflow image` writes, in order.
FILES = ("Dockerfile", ".dockerignore", ARCHIVE)

#: Image mode (`code = "image"`, or `portaflow image`) without `image_repository`.
NO_REPOSITORY = "PF440"
#: `image_repository` or `base_image` that is not a usable image reference.
BAD_REFERENCE = "PF441"
#: `[project].dependencies` that cannot go into the image.
BAD_DEPENDENCY = "PF442"
#: warning: no `[project]` table, so the image installs no third-party library.
NO_DEPENDENCIES = "PF443"
#: A stack that sets `image` together with `code = "image"`.
IMAGE_CONFLICT = "PF444"
#: warning: `portaflow image` for a stack whose manifests do not use the image.
NOT_IMAGE_MODE = "PF445"
#: warning: the stack's store is a URL but the image would hold no fsspec to reach it.
NO_FSSPEC = "PF446"
#: warning: compiling for KFP's python executor with an image the stack describes without kfp.
NO_KFP = "PF447"

# Image references, from the grammar of distribution/reference (docker/distribution's
# reference.go): [domain[:port]/]path[:tag][@digest]; path components are lower case.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"\w[\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?", re.ASCII
)
_MAX_NAME = 255
#: Longest requirement string accepted (Docker reads a Dockerfile line of at most 64 KiB).
MAX_REQUIREMENT = 4096


class CodePackageLike(Protocol):
    """What the image needs of compiler/codepkg.py's CodePackage."""

    @property
    def digest(self) -> str: ...

    def archive(self) -> bytes: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageContext:
    """What `portaflow image` writes, and the tag manifests use."""

    #: The Dockerfile text.
    dockerfile: str
    #: The .dockerignore text.
    dockerignore: str
    #: The code archive's bytes (its sha256 is `digest`).
    archive: bytes
    #: The code package's digest.
    digest: str
    #: `{image_repository}:pf-{16 hex}`.
    tag: str

    def files(self) -> list[tuple[str, bytes]]:
        """(name, bytes) of every file of the build context, in `FILES` order."""
        return [
            ("Dockerfile", self.dockerfile.encode()),
            (".dockerignore", self.dockerignore.encode()),
            (ARCHIVE, self.archive),
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageSettings:
    """The image mode settings of one stack, checked."""

    #: FROM.
    base_image: str
    #: Repository part of the tag; None when the stack sets none (PF440 where one is needed).
    repository: str | None
    #: The pip requirements, in install order.
    requirements: tuple[str, ...]


# --- rendering ---------------------------------------------------------------------------------


def render_dockerfile(*, base_image: str, requirements: Iterable[str]) -> str:
    """The Dockerfile: deterministic, every user value checked or JSON-quoted.

    `base_image` must be a pinned reference (`reference_problem`) and each requirement a
    PEP 508 string (`requirement_problem`); ValueError otherwise: this is the last line
    of defence, the diagnostics (`image_settings`) come first.
    """
    if reference_problem(base_image, repository_only=False):
        raise ValueError(f"not an image reference: {base_image!r}")
    reqs = list(requirements)
    for req in reqs:
        if requirement_problem(req):
            raise ValueError(f"not a PEP 508 requirement: {req!r}")
    lines = [
        "# Generated by `portaflow image`; do not edit, rerun it (docs/deploy-image.md).",
        f"# The build context is this folder: {ARCHIVE} is the pipeline's code package",
        "# (portaflow's runtime and the project files its steps reach).",
        f"FROM {base_image}",
        "ENV PYTHONDONTWRITEBYTECODE=1 \\",
        "    PYTHONUNBUFFERED=1 \\",
        "    PIP_DISABLE_PIP_VERSION_CHECK=1",
    ]
    if reqs:
        # Exec form: pip gets each requirement as one argv item, no shell reads it.
        lines.append("# The project's [project].dependencies, in pyproject.toml's order.")
        head = ["python", "-m", "pip", "install", "--no-cache-dir"]
        lines.append("RUN [" + ", ".join(_q(a) for a in head) + ", \\")
        for i, req in enumerate(reqs):
            end = "]" if i == len(reqs) - 1 else ", \\"
            lines.append(f"     {_q(req)}{end}")
    lines += [
        f"ADD [{_q(ARCHIVE)}, {_q(CODE_DIR + '/')}]",
        f"ENV PYTHONPATH={CODE_DIR} \\",
        f"    PORTAFLOW_ROOT={CODE_DIR} \\",
        "    HOME=/tmp",
        f"WORKDIR {CODE_DIR}",
        f"USER {USER}",
    ]
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    # A JSON string with every non-ASCII and control character escaped. BuildKit reads an
    # instruction whose arguments are a valid JSON array of strings as exec form: no shell,
    # no variable substitution for RUN, no heredoc (`canContainHeredoc` is false for JSON
    # nodes in moby/buildkit frontend/dockerfile/parser/parser.go); a physical line cannot
    # break inside the string, start a comment or end in a continuation backslash.
    return json.dumps(text, ensure_ascii=True)


def render_dockerignore() -> str:
    """The .dockerignore: nothing but the Dockerfile and the code archive enters the context."""
    return (
        "# Generated by `portaflow image`: only the Dockerfile and the code archive enter\n"
        "# the build context.\n"
        "*\n"
        "!Dockerfile\n"
        f"!{ARCHIVE}\n"
    )


def image_tag(repository: str, dockerfile: str, digest: str) -> str:
    """`{repository}:pf-{sha256(Dockerfile bytes + package digest)[:16]}`."""
    h = hashlib.sha256(dockerfile.encode() + digest.encode("ascii")).hexdigest()
    return f"{repository}:pf-{h[:16]}"


def image_context(settings: ImageSettings, package: CodePackageLike) -> ImageContext:
    """The build context and tag for a package; `settings.repository` must be set."""
    assert settings.repository is not None
    dockerfile = render_dockerfile(
        base_image=settings.base_image, requirements=settings.requirements
    )
    return ImageContext(
        dockerfile=dockerfile,
        dockerignore=render_dockerignore(),
        archive=package.archive(),
        digest=package.digest,
        tag=image_tag(settings.repository, dockerfile, package.digest),
    )


# --- checks of user values ---------------------------------------------------------------------


def reference_problem(text: str, *, repository_only: bool) -> str | None:
    """Why `text` is not a pinned image reference (or, `repository_only`, a bare repository)."""
    m = _REFERENCE.fullmatch(text) if len(text) <= 2 * _MAX_NAME else None
    if m is None or len(m["name"]) > _MAX_NAME:
        return "is not an image reference"
    if repository_only:
        if m["tag"] or m["digest"]:
            return "names a tag or digest; the tag is derived from the code"
        return None
    if not m["tag"] and not m["digest"]:
        return "names no tag or digest (it would float with `latest`)"
    if m["tag"] == "latest" and not m["digest"]:
        return "uses the floating `latest` tag"
    return None


def requirement_problem(text: str) -> str | None:
    """Why `text` cannot be a pip argument: not PEP 508, or holding control characters."""
    from packaging.requirements import InvalidRequirement, Requirement

    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        return "holds a control character or line break"
    if len(text) > MAX_REQUIREMENT:
        return f"is longer than {MAX_REQUIREMENT} characters"
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        return f"is not a PEP 508 requirement ({str(exc).splitlines()[0]})"
    if text.strip() != text:
        return "has leading or trailing spaces"
    return None


# --- reading the settings ----------------------------------------------------------------------


def image_settings(
    root: Path, stack_name: str, settings: Mapping[str, Any]
) -> tuple[ImageSettings | None, list[Diagnostic]]:
    """The checked image settings of a stack and the project's dependencies, and diagnostics.

    Returns None with the diagnostics when any is an error. A missing
    `image_repository` is not checked here (`require_repository`).
    """
    found: list[Diagnostic] = []
    where = _StackFile(root, stack_name)
    base = settings.get("base_image", DEFAULT_BASE_IMAGE)
    problem = reference_problem(str(base), repository_only=False)
    if problem:
        found.append(
            where.diag(
                BAD_REFERENCE,
                "base_image",
                f"base_image {base!r} {problem}",
                'pin the base image, e.g. base_image = "python:3.11-slim" or '
                '"python:3.11-slim@sha256:<digest>"',
            )
        )
    repo = settings.get("image_repository")
    if repo is not None:
        problem = reference_problem(str(repo), repository_only=True)
        if problem:
            found.append(
                where.diag(
                    BAD_REFERENCE,
                    "image_repository",
                    f"image_repository {repo!r} {problem}",
                    'name the repository only, e.g. image_repository = "ghcr.io/team/project"',
                )
            )
    if settings.get("code") == "image" and settings.get("image") is not None:
        found.append(
            where.diag(
                IMAGE_CONFLICT,
                "image",
                f'stack {stack_name!r} sets image and code = "image"; image mode derives '
                "the image from the code",
                "drop `image` (steps that need another image say so with @step(image=...)), "
                'or drop code = "image"',
            )
        )
    reqs, more = project_requirements(root, settings)
    found += more
    store = str(settings.get("store", ""))
    if "://" in store and not any(_name(r) == "fsspec" for r in reqs):
        found.append(
            where.diag(
                NO_FSSPEC,
                "store",
                f"the stack's store {store!r} is a URL, but the image installs no fsspec: "
                "the tasks could not write to it",
                'add "portaflow[store]" (fsspec and s3fs) to [project].dependencies, or fsspec '
                "and the filesystem package of your URL",
                severity="warning",
            )
        )
    if any(d.severity == "error" for d in found):
        return None, found
    return (
        ImageSettings(
            base_image=str(base),
            repository=None if repo is None else str(repo),
            requirements=tuple(reqs),
        ),
        found,
    )


def require_repository(root: Path, stack_name: str, settings: ImageSettings) -> list[Diagnostic]:
    """PF440 when the stack names no image repository."""
    if settings.repository is not None:
        return []
    return [
        _StackFile(root, stack_name).diag(
            NO_REPOSITORY,
            None,
            f"stack {stack_name!r} uses an image but sets no image_repository to tag it in",
            'add image_repository = "ghcr.io/team/project" to the stack',
        )
    ]


def not_image_mode(root: Path, stack_name: str) -> Diagnostic:
    """PF445: `portaflow image` for a stack whose manifests do not use the image."""
    return _StackFile(root, stack_name).diag(
        NOT_IMAGE_MODE,
        None,
        f"stack {stack_name!r} is not in image mode: manifests compiled with it do not use "
        "this image",
        'set code = "image" in the stack so compile makes the tag the default step image',
        severity="warning",
    )


def project_requirements(
    root: Path, settings: Mapping[str, Any] | None = None
) -> tuple[list[str], list[Diagnostic]]:
    """`[project].dependencies` of `root`/pyproject.toml as pip requirements, and diagnostics.

    The user's order is kept (the Dockerfile reads like the pyproject); a requirement on
    portaflow becomes its extras' requirements; duplicates after that are dropped. A stack
    compiling for KFP's python executor also gets portaflow's `kfp` extra (the component
    runs through kfp's executor).
    """
    path = root / "pyproject.toml"
    located = _TomlText(path, "pyproject.toml")
    found: list[Diagnostic] = []
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError) as exc:
        return [], [located.at(BAD_DEPENDENCY, 0, f"cannot read pyproject.toml: {exc}", "")]
    project = data.get("project")
    raw: Any = []
    if not isinstance(project, dict):
        found.append(
            located.at(
                NO_DEPENDENCIES,
                0,
                "no [project] table: the image installs no third-party library",
                "list the steps' libraries in [project].dependencies of pyproject.toml",
                severity="warning",
            )
        )
    elif "dependencies" in (project.get("dynamic") or []):
        line = located.find(r"^\s*dynamic\s*=")
        found.append(
            located.at(
                BAD_DEPENDENCY,
                line,
                "[project].dependencies is dynamic: `portaflow image` reads them statically",
                "list the dependencies in pyproject.toml itself",
            )
        )
    else:
        raw = project.get("dependencies", [])
    deps_line = located.find(r"^\s*dependencies\s*=")
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        found.append(
            located.at(
                BAD_DEPENDENCY,
                deps_line,
                "[project].dependencies must be a list of strings",
                'e.g. dependencies = ["pandas>=2.0", "scikit-learn>=1.3"]',
            )
        )
        raw = []
    if settings is not None and installs_kfp(settings):
        raw = [*raw, "portaflow[kfp]"]
    out: list[str] = []
    for req in raw:
        problem = requirement_problem(req)
        if problem:
            found.append(
                located.at(
                    BAD_DEPENDENCY,
                    located.find_string(req, deps_line),
                    f"dependency {req!r} {problem}",
                    'write one requirement per string, e.g. "pandas>=2.0"',
                )
            )
            continue
        expanded, problem = _expand_portaflow(req)
        if problem:
            found.append(
                located.at(
                    BAD_DEPENDENCY, located.find_string(req, deps_line), problem, _EXTRAS_HINT
                )
            )
            continue
        out += [r for r in expanded if r not in out]
    return out, found


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return canonicalize_name(Requirement(requirement).name)


_EXTRAS_HINT = "name an extra portaflow has, or list the libraries themselves"


def installs_kfp(settings: Mapping[str, Any]) -> bool:
    """Whether the stack's image installs kfp: its target is kfp with the python executor."""
    return settings.get("target") == "kfp" and settings.get("kfp_executor", "python") == "python"


def kfp_missing(root: Path, stack_name: str) -> Diagnostic:
    """PF447: KFP's python executor runs through kfp, which this stack's image does not hold."""
    return _StackFile(root, stack_name).diag(
        NO_KFP,
        "target",
        f"stack {stack_name!r} describes an image without kfp, but KFP's python executor "
        "runs each step through kfp",
        'set target = "kfp" in the stack (`portaflow image` then installs kfp), or compile '
        "with --kfp-executor container",
        severity="warning",
    )


def _expand_portaflow(text: str) -> tuple[list[str], str | None]:
    """A requirement on portaflow -> its extras' requirements (its runtime is in code.tar)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    req = Requirement(text)
    if canonicalize_name(req.name) != "portaflow":
        return [text], None
    if req.marker is not None:
        return [], f"dependency {text!r}: a marker on portaflow itself cannot be expanded"
    table = portaflow_extras()
    out: list[str] = []
    for extra in sorted(req.extras):
        if extra not in table:
            known = ", ".join(sorted(table)) or "none"
            return [], f"portaflow has no extra {extra!r} (extras: {known})"
        out += [r for r in table[extra] if r not in out]
    return out, None


def portaflow_extras() -> dict[str, list[str]]:
    """Each extra of the installed portaflow -> its requirements (empty when portaflow's
    metadata cannot be read, e.g. run from a source tree that was never installed)."""
    try:
        requires = importlib.metadata.requires("portaflow") or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    return extras_of(requires)


def extras_of(requires: Iterable[str]) -> dict[str, list[str]]:
    """`Requires-Dist` lines -> each extra's requirements, markers other than the extra's kept
    for pip to evaluate in the image (`a; python_version < "3.11" and extra == "x"` ->
    `a; python_version < "3.11"` under "x")."""
    from packaging.requirements import Requirement

    out: dict[str, list[str]] = {}
    for text in requires:
        req = Requirement(text)
        if req.marker is None:
            continue  # the compiler's own dependencies: the runtime needs none of them
        marker = str(req.marker)
        # With the extra set, `REST and extra == "x"` is REST (`and` binds tighter than `or`).
        m = re.fullmatch(r'(?:(?P<rest>.*) and )?extra == "(?P<extra>[^"]+)"', marker)
        if m is None:
            continue
        base = text.split(";", 1)[0].strip()
        rest = m["rest"]
        out.setdefault(m["extra"], []).append(f"{base}; {rest}" if rest else base)
    return out


# --- locating settings in TOML files -----------------------------------------------------------


class _TomlText:
    """Line numbers of keys and strings in a TOML file, for located diagnostics."""

    def __init__(self, path: Path, shown: str) -> None:
        self.shown = shown
        try:
            self.lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            self.lines = []

    def find(self, pattern: str, start: int = 0, header: str | None = None) -> int:
        """1-based line of the first match at or after `start` (inside table `header`); 0 if none."""
        rx = re.compile(pattern)
        begin = start
        if header is not None:
            begin = self.find(rf"^\s*\[\s*{re.escape(header)}\s*\]")
            if begin == 0:
                return 0
        for i in range(max(begin, 1), len(self.lines) + 1):
            if header is not None and i > begin and re.match(r"^\s*\[", self.lines[i - 1]):
                break
            if rx.search(self.lines[i - 1]):
                return i
        return begin if header is not None else 0

    def find_string(self, value: str, start: int) -> int:
        """The line holding `value` as a TOML string at or after `start`, else `start`."""
        for quoted in (json.dumps(value), f"'{value}'", json.dumps(value, ensure_ascii=False)):
            for i in range(max(start, 1), len(self.lines) + 1):
                if quoted in self.lines[i - 1]:
                    return i
        return start

    def at(
        self, code: str, line: int, message: str, hint: str, *, severity: Severity = "error"
    ) -> Diagnostic:
        # A message about the whole file (or a file that does not exist) points at 1:1,
        # so every diagnostic has a file:line:col.
        whole = not 0 < line <= len(self.lines)
        line = 1 if whole else line
        source = "" if whole else self.lines[line - 1]
        col = len(source) - len(source.lstrip()) + 1
        return Diagnostic(
            code=code,
            severity=severity,
            message=message,
            path=self.shown,
            line=line,
            col=col,
            end_line=line,
            end_col=max(len(source) + 1, col + 1),
            hint=hint,
            source_line=source,
        )


class _StackFile:
    """Where a stack's keys are written: portaflow.toml, else pyproject.toml [tool.portaflow]."""

    def __init__(self, root: Path, stack: str) -> None:
        self.stack = stack
        if (root / "portaflow.toml").is_file():
            self.text = _TomlText(root / "portaflow.toml", "portaflow.toml")
            self.header = f"stacks.{stack}"
        else:
            self.text = _TomlText(root / "pyproject.toml", "pyproject.toml")
            self.header = f"tool.portaflow.stacks.{stack}"

    def diag(
        self,
        code: str,
        key: str | None,
        message: str,
        hint: str,
        *,
        severity: Severity = "error",
    ) -> Diagnostic:
        if key is None:
            line = self.text.find(r".", header=self.header)
        else:
            line = self.text.find(rf"^\s*{re.escape(key)}\s*=", header=self.header)
        return self.text.at(code, line, message, hint, severity=severity)
