"""Compiler diagnostics: stable codes, compiler-style rendering, collect-then-raise.

A diagnostic renders as

    pipeline.py:14:9: error PF200: 'while' is not allowed in a @pipeline body
       14 |     while x:
          |     ^^^^^
       = hint: fan out with `for item in items:` over a list

Codes are constants and never reused; `CODES` documents every one of them and
docs/diagnostics.md is generated from it (a test keeps them in sync).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

#: Every diagnostic code with a one-line description. Never reuse a retired code.
CODES: dict[str, str] = {
    "PF001": "internal compiler error (a bug in portaflow; please report it)",
    "PF100": "Python syntax error",
    "PF101": "file cannot be read, or is outside the project root",
    "PF102": "expression nested too deeply, or too long, to analyse",
    "PF103": "code Python's compiler rejects (duplicate argument, `break` outside a loop, ...)",
    "PF104": "bytes that are not valid in the file's encoding, or an unknown coding declaration",
    "PF105": "an integer literal with more digits than Python converts to text",
    "PF106": "a number literal that overflows to infinity (JSON cannot carry it)",
    "PF107": "a string literal holding a lone surrogate (not valid UTF-8 text)",
    "PF110": "no @pipeline found in the file",
    "PF111": "several top-level pipelines and no --pipeline NAME",
    "PF112": "the pipeline named by --pipeline does not exist",
    "PF113": "two pipelines share a name",
    "PF120": "an import that cannot be resolved to a project file",
    "PF200": "a statement the pipeline language does not allow",
    "PF201": "an expression the pipeline language does not allow",
    "PF202": "arithmetic or an operator applied to a step output",
    "PF203": "attribute access on a step output",
    "PF204": "call of something that is not a @step or @pipeline",
    "PF205": "f-string or string formatting of a step output",
    "PF206": "name used before it is assigned",
    "PF207": "indexing a step output or parameter",
    "PF210": "unknown argument to a step",
    "PF211": "missing required argument",
    "PF212": "too many positional arguments",
    "PF213": "argument given more than once",
    "PF214": "tuple unpacking with the wrong number of names",
    "PF215": "a step with several outputs used as one value",
    "PF216": "a step without outputs used as a value",
    "PF220": "an artifact passed where a parameter type is declared",
    "PF221": "a value whose type clearly does not match the declared type",
    "PF222": "a condition on an artifact",
    "PF230": "a loop over something that is not a list",
    "PF231": "loops nested more than two levels",
    "PF232": "a list comprehension form that is not supported",
    "PF233": "a per-iteration value used outside its loop",
    "PF234": "a value produced inside an `if` branch used outside it",
    "PF240": "a pipeline that calls itself",
    "PF250": "a module constant in a decorator argument that cannot be evaluated statically",
    "PF251": "a `parallel(xs, limit=N)` fan-out written wrongly (limit not an int from 1 to 10000)",
    "PF252": "a top-level pipeline `return` that cannot declare pipeline outputs",
    "PF253": "a name assigned in every arm of an `if` whose values cannot merge (different types, "
    "or a value made before the `if`)",
    "PF255": 'a `run=` keyword that is not "succeeded", "done" or "failed", or on a '
    "sub-pipeline call",
    "PF256": 'a `run="done"`/`"failed"` step without `after=`',
    "PF257": 'a `run="done"`/`"failed"` step that reads a step output',
    "PF258": 'a `run="done"`/`"failed"` step inside an `if` branch or a loop',
    "PF259": "a `RunStatus` input passed by the caller, or on a step that is neither a hook "
    'nor `run="done"`/`"failed"`',
    "PF260": "two volumes of a step mounted at the same path",
    "PF261": "an environment variable of a step set twice (env= and SecretEnv)",
    "PF262": "container_step(...) without its name=/image= strings, or with an unknown option",
    "PF263": "container_step inputs=/outputs= not a dict literal of identifier names to types",
    "PF264": "a container_step input or output typed other than str, int, float or bool",
    "PF265": "container_step command= not a non-empty list of string literals (a shell string)",
    "PF266": "a malformed placeholder in a container_step command item",
    "PF267": "a container_step command placeholder that names no declared input or output",
    "PF268": "a container_step output with no {outputs.name} path in its command",
    "PF300": "a decorator argument that is not a literal or a DSL config type",
    "PF301": "an unknown decorator argument or config field",
    "PF302": "an invalid config value",
    "PF303": "a step or pipeline signature the language does not support",
    "PF304": "a pipeline parameter whose type is not a parameter type",
    "PF305": "a pipeline hook that is not a @step",
    "PF400": "stack: a `store` URL the tasks cannot write to (a `{{` tag, `$(`, spaces, no bucket)",
    "PF401": "stack: `store_secret` is not a valid Kubernetes secret name",
    "PF402": "stack: `store_secret` or `store_options` without a `store` URL",
    "PF403": "stack: `store_options` is not a JSON object, or holds what looks like a credential",
    "PF440": 'image mode (`code = "image"`, or `portaflow image`) without `image_repository`',
    "PF441": "stack: `image_repository` that is not a bare repository, or `base_image` that is "
    "not a pinned image reference",
    "PF442": "`[project].dependencies` the image cannot install: not a list of strings, dynamic, "
    "not PEP 508, a control character, or an unknown portaflow extra",
    "PF443": "warning: no `[project]` table in pyproject.toml, so the image installs no "
    "third-party library",
    "PF444": 'stack: `image` set together with `code = "image"` (image mode derives the image)',
    "PF445": "warning: `portaflow image` for a stack whose manifests do not use the image",
    "PF446": "warning: image mode with a store URL but no fsspec among the image's dependencies",
    "PF447": "warning: image mode compiling for KFP's python executor with an image the stack "
    "describes without kfp",
    "PF800": "migrate (kfp): a KFP construct with no portaflow equivalent (container components, "
    "dsl.ExitHandler of a task with arguments, other `with dsl.*` blocks)",
    "PF801": "migrate (kfp), warning: `packages_to_install` is not carried over; install the "
    "packages in the step's image",
    "PF802": "migrate (kfp): a path-style artifact parameter (`Output[...]`, `Input[...]`, "
    "`OutputPath`) used beyond the write-then-return or read-once pattern",
    "PF803": "migrate (kfp): a task method with no portaflow equivalent (a warning when it is "
    "only dropped, such as `.set_display_name`)",
    "PF804": "migrate (kfp): two tasks of one component set different options (portaflow options "
    "belong to the step)",
    "PF805": "migrate (kfp): `dsl.Collected` of a loop that is not a single task call",
    "PF806": "migrate (kfp), warning: a decorator or loop argument with no portaflow equivalent "
    "is dropped (description, pipeline_root, parallelism, ...)",
    "PF807": "migrate (kfp): module-level code that uses kfp (a client, kfp.local, a compile call "
    'outside `if __name__ == "__main__":`)',
    "PF809": "migrate (kfp): a task output used in a way migrate cannot rewrite (`.output` of a "
    "task with several outputs, an unknown output name)",
    "PF830": "migrate --from zenml: a ZenML name or integration step with no portaflow equivalent "
    "is still used (its import stays)",
    "PF831": "migrate --from zenml: a ZenML option portaflow does its own way was dropped (warning)",
    "PF832": "migrate --from zenml: a ZenML option or setting with no portaflow equivalent was "
    "dropped; a person must rebuild it",
    "PF833": "migrate --from zenml: a statement that ran the pipeline in ZenML was removed; run "
    "it with `portaflow run` (warning)",
    "PF834": "migrate --from zenml: a ZenML config value (retry, resources, schedule, model, "
    "output) that cannot be translated in full",
    "PF835": "migrate --from zenml: an `after=` naming no step call of the pipeline",
    "PF836": "migrate --from zenml: a pipeline-wide option that steps defined in another file "
    "do not inherit (warning)",
    "PF837": "migrate --from zenml: a legacy pipeline whose step slots are bound nowhere in the file",
    "PF860": "migrate --from airflow: the file is not valid Python (nothing was migrated)",
    "PF861": "migrate --from airflow: no TaskFlow `@dag` function (or no `dag`/`task` import) found",
    "PF862": "migrate --from airflow: a schedule portaflow cannot express (`@once`, timedelta, "
    "assets, timetables)",
    "PF863": "migrate --from airflow: a `@task.<flavour>` with no portaflow equivalent "
    "(bash, sensor, ...); as a warning, a virtualenv task that became a plain step",
    "PF864": "migrate --from airflow: a task option or default_args entry with no portaflow "
    "equivalent, or one that is not a literal",
    "PF865": "migrate --from airflow: a task that reads Airflow's run context (`**context`, "
    "`ti`, `get_current_context()`)",
    "PF866": "migrate --from airflow: a DAG body statement, task call form or dependency that is "
    "not translated",
    "PF867": "migrate --from airflow: DAG `params` that cannot be read, or a param whose type "
    "cannot be inferred",
    "PF868": "warning: migrate --from airflow: Airflow-only DAG settings or default_args dropped",
    "PF869": 'migrate --from airflow: `result["key"]` of a task that does not return dict '
    "literals with that key",
    "PF870": "migrate --from airflow: a classic `with DAG(...)` block (only TaskFlow is migrated)",
    "PF871": "migrate --from airflow: a Jinja template argument other than `{{ params.name }}`",
    "PF872": "migrate --from airflow: a `@dag` argument with no portaflow equivalent (callbacks, "
    "...)",
    "PF900": "warning: a step output that is never used",
    "PF901": "warning: a @step defined in the pipeline file that is never used",
    "PF902": "warning: a pipeline parameter that is never used",
    "PF910": "warning: code a step reaches through a computed name (getattr, importlib, exec, "
    "globals()); its code hash covers the whole module",
    "PF920": "warning: `portaflow run` does not install a step's `packages=` (the local "
    "environment must hold them); an image is the reproducible choice",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One message tied to a source range."""

    #: Stable code from `CODES`.
    code: str
    #: "error" or "warning".
    severity: Severity
    #: What is wrong, one sentence.
    message: str
    #: Project-relative or as-given path of the file.
    path: str
    #: 1-based line; 0 when the message is about the whole file.
    line: int = 0
    #: 1-based column.
    col: int = 0
    #: 1-based end line (same as line for one-line spans).
    end_line: int = 0
    #: 1-based column just past the end.
    end_col: int = 0
    #: The allowed way to write it.
    hint: str = ""
    #: The source line, for rendering.
    source_line: str = ""

    def location(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{self.col}"

    def render(self) -> str:
        """Compiler-style text: location, message, source line with a caret, hint."""
        out = [f"{self.location()}: {self.severity} {self.code}: {self.message}"]
        if self.line > 0 and self.source_line:
            gutter = f"{self.line:>5} | "
            text = self.source_line.rstrip("\n")
            first = max(self.col, 1) - 1
            last = self.end_col - 1 if self.end_line == self.line else len(text)
            # A very long line shows a window around the start of the range.
            cut = max(0, first - _CONTEXT) if len(text) > _WIDTH else 0
            window = text[cut : cut + _WIDTH]
            more = cut + _WIDTH < len(text)
            shown, cols = _display(window)
            out.append(gutter + ("..." if cut else "") + shown + ("..." if more else ""))
            start = min(first - cut, len(cols) - 1)
            if last > first:
                end = min(last - cut, len(cols) - 1)
            else:
                end = len(cols) - 1
            width = max(cols[end] - cols[start], 1)
            lead = cols[start] + (3 if cut else 0)
            out.append(" " * (len(gutter) - 2) + "| " + " " * lead + "^" * width)
        if self.hint:
            out.append(f"      = hint: {self.hint}")
        return "\n".join(out)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
            "hint": self.hint,
        }


class CompileError(Exception):
    """Raised once, after collecting, with every error diagnostic of a compile."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(
            f"{len(errors)} error(s)" + (f"; first: {errors[0].message}" if errors else "")
        )
        #: All diagnostics, errors and warnings, in source order.
        self.diagnostics = diagnostics

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


#: Characters of a source line shown at most, and how many of them before the range.
_WIDTH = 160
_CONTEXT = 40


def _display(text: str) -> tuple[str, list[int]]:
    """A source line as a terminal shows it, and the display column where each character starts.

    Tabs expand to stops of 4; control and separator characters (form feed, U+0085,
    U+2028, ...) show as one placeholder so they cannot break or shift the line; wide
    characters take two columns and combining marks none. `cols` has one more entry
    than `text`: the column just past the end.
    """
    shown: list[str] = []
    cols: list[int] = []
    col = 0
    for ch in text:
        cols.append(col)
        if ch == "\t":
            pad = 4 - col % 4
            shown.append(" " * pad)
            col += pad
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            shown.append(" " if ch == "\f" else "\N{REPLACEMENT CHARACTER}")
            col += 1
        elif category in ("Mn", "Me"):
            shown.append(ch)
        else:
            shown.append(ch)
            col += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    cols.append(col)
    return "".join(shown), cols
