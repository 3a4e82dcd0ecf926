"""A semantic lint of Argo documents: what Argo's controller rejects beyond the schema.

Mirrors the checks of Argo's `workflow/validate/validate.go` that portaflow's output could
trip: undefined templates or entrypoint, duplicate names, invalid names, DAG cycles,
`depends` naming unknown tasks, `depends` with `dependencies`, `{{...}}` references
to inputs, tasks or workflow parameters that do not exist, and `{{retries}}` in a
template without a retryStrategy (validate.go defines it only there). It is run on every emitted
document in the tests and on Argo's own examples (which it must all accept).
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")
_RETRIES = re.compile(r"{{\s*retries\s*}}")
_PARAM = re.compile(r"[-a-zA-Z0-9_]+")
_TAG = re.compile(r"{{\s*(=?)(.*?)\s*}}", re.S)
_DEP_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z]+)?")
_EXPR_TASK = re.compile(r"tasks(?:\[\s*'([^']*)'\s*\]|\.([A-Za-z0-9_]+))")
_EXPR_INPUT = re.compile(r"inputs\.parameters(?:\[\s*'([^']*)'\s*\]|\.([A-Za-z0-9_]+))")
# A string literal of an expression; group 1 is set when it is a subscript key (`tasks['a']`).
_EXPR_STRING = re.compile(r"""(\[\s*)?('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def _code_of(expr: str) -> str:
    """The expression with the text of its string literals removed, subscript keys kept.

    A literal such as `'{{inputs.parameters.x}}'` (escaped) names no variable.
    """
    return _EXPR_STRING.sub(lambda m: m.group(0) if m.group(1) is not None else "''", expr)


def _spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc.get("kind")
    if kind == "CronWorkflow":
        spec: dict[str, Any] | None = doc.get("spec", {}).get("workflowSpec")
        return spec
    if kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"):
        spec = doc.get("spec")
        return spec
    return None


def _strings(value: Any, skip: tuple[str, ...] = ()) -> list[str]:
    """Every string inside `value` (not descending into keys named in `skip`)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, skip)]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k not in skip for s in _strings(v, skip)]
    return []


def _depends_names(expr: str) -> list[str]:
    cleaned = re.sub(r"&&|\|\||!|\(|\)", " ", expr)
    return [tok.split(".", 1)[0] for tok in cleaned.split()]


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None; iterative, so long chains cannot overflow the stack."""
    state: dict[str, int] = {}
    for root in sorted(edges):
        if root in state:
            continue
        path: list[str] = [root]
        iters = [iter(sorted(edges.get(root, ())))]
        state[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(edges.get(nxt, ()))))
    return None


def lint(doc: dict[str, Any]) -> list[str]:
    """Problems Argo's controller would reject; empty when the document is fine."""
    spec = _spec(doc)
    if spec is None:
        return []
    errs: list[str] = []
    templates = spec.get("templates") or []
    by_name: dict[str, dict[str, Any]] = {}
    for t in templates:
        name = t.get("name", "")
        if name in by_name:
            errs.append(f"duplicate template name {name!r}")
        if not _NAME.fullmatch(name) or len(name) > 128:
            errs.append(f"invalid template name {name!r}")
        by_name[name] = t
    has_ref = "workflowTemplateRef" in spec
    entry = spec.get("entrypoint")
    if templates and not has_ref:
        if entry is None and doc.get("kind") == "Workflow":
            errs.append("spec.entrypoint is missing")
        elif entry is not None and "{{" not in entry and entry not in by_name:
            errs.append(f"entrypoint {entry!r} is not a template")
    on_exit = spec.get("onExit")
    if on_exit and templates and on_exit not in by_name:
        errs.append(f"onExit {on_exit!r} is not a template")
    wf_params = {p.get("name") for p in (spec.get("arguments") or {}).get("parameters") or []}
    for t in templates:
        errs += _lint_template(t, by_name, wf_params, check_wf_params=not has_ref)
    return errs


def _outputs(t: dict[str, Any] | None, plural: str) -> set[str] | None:
    if t is None:
        return None
    return {o.get("name") for o in (t.get("outputs") or {}).get(plural) or []}


def _lint_template(
    t: dict[str, Any],
    by_name: dict[str, dict[str, Any]],
    wf_params: set[Any],
    *,
    check_wf_params: bool,
) -> list[str]:
    errs: list[str] = []
    tname = t.get("name")
    if t.get("retryStrategy") is None and _RETRIES.search(repr(t)):
        errs.append(f"{tname}: {{{{retries}}}} in a template without a retryStrategy")
    inputs = t.get("inputs") or {}
    in_params = {p.get("name") for p in inputs.get("parameters") or []}
    in_arts = {a.get("name") for a in inputs.get("artifacts") or []}
    for p in inputs.get("parameters") or []:
        if not _PARAM.fullmatch(p.get("name", "")):
            errs.append(f"{tname}: invalid parameter name {p.get('name')!r}")
    dag = t.get("dag")
    tasks = (dag or {}).get("tasks") or []
    task_by_name: dict[str, dict[str, Any]] = {}
    for task in tasks:
        n = task.get("name", "")
        if n in task_by_name:
            errs.append(f"{tname}: duplicate task name {n!r}")
        if not _NAME.fullmatch(n) or len(n) > 128:
            errs.append(f"{tname}: invalid task name {n!r}")
        task_by_name[n] = task
    edges: dict[str, set[str]] = {}
    for task in tasks:
        n = task.get("name", "")
        ref = task.get("template")
        if ref is not None and ref not in by_name and "templateRef" not in task:
            errs.append(f"{tname}.{n}: template {ref!r} is not defined")
        if "depends" in task and "dependencies" in task:
            errs.append(f"{tname}.{n}: depends and dependencies are exclusive")
        deps = list(task.get("dependencies") or [])
        if "depends" in task:
            deps += _depends_names(task["depends"])
        for d in deps:
            if d not in task_by_name:
                errs.append(f"{tname}.{n}: depends on unknown task {d!r}")
            edges.setdefault(d, set()).add(n)
    cycle = _find_cycle(edges)
    if cycle:
        errs.append(f"{tname}: DAG cycle {' -> '.join(cycle)}")
    # References inside this template.
    for task in tasks:
        looped = any(k in task for k in ("withItems", "withParam", "withSequence"))
        for s in _strings(task):
            errs += _refs(
                s,
                f"{tname}.{task.get('name')}",
                in_params,
                in_arts,
                task_by_name,
                by_name,
                wf_params,
                looped,
                check_wf_params,
            )
    if dag is None:
        body = {k: v for k, v in t.items() if k not in ("dag", "steps", "outputs")}
        for s in _strings(body):
            errs += _refs(
                s, str(tname), in_params, in_arts, None, by_name, wf_params, True, check_wf_params
            )
    else:
        for s in _strings(t.get("outputs") or {}):
            errs += _refs(
                s,
                str(tname),
                in_params,
                in_arts,
                task_by_name,
                by_name,
                wf_params,
                False,
                check_wf_params,
            )
    return errs


def _refs(
    s: str,
    where: str,
    in_params: set[Any],
    in_arts: set[Any],
    tasks: dict[str, dict[str, Any]] | None,
    by_name: dict[str, dict[str, Any]],
    wf_params: set[Any],
    looped: bool,
    check_wf_params: bool,
) -> list[str]:
    errs: list[str] = []
    for is_expr, body in _TAG.findall(s):
        if is_expr:
            code = _code_of(body)
            names = [a or b for a, b in _EXPR_TASK.findall(code)]
            if tasks is not None:
                errs += [
                    f"{where}: {{{{={body}}}}} names unknown task {n!r}"
                    for n in names
                    if n not in tasks
                ]
            ins = [a or b for a, b in _EXPR_INPUT.findall(code)]
            errs += [f"{where}: unknown input parameter {n!r}" for n in ins if n not in in_params]
            continue
        parts = body.split(".")
        if parts[0] == "inputs" and len(parts) == 3:
            known = (
                in_params
                if parts[1] == "parameters"
                else in_arts
                if parts[1] == "artifacts"
                else None
            )
            if known is not None and parts[2] not in known:
                errs.append(f"{where}: {{{{{body}}}}} is not an input of the template")
        elif parts[0] == "workflow" and len(parts) == 3 and parts[1] == "parameters":
            if check_wf_params and wf_params and parts[2] not in wf_params | {"json"}:
                errs.append(f"{where}: {{{{{body}}}}} is not a workflow parameter")
        elif parts[0] == "tasks" and tasks is not None and len(parts) >= 2:
            task = tasks.get(parts[1])
            if task is None:
                errs.append(f"{where}: {{{{{body}}}}} names unknown task {parts[1]!r}")
            elif (
                len(parts) == 5
                and parts[2] == "outputs"
                and parts[3] in ("parameters", "artifacts")
            ):
                outs = _outputs(by_name.get(task.get("template", "")), parts[3])
                if outs is not None and parts[4] not in outs:
                    errs.append(f"{where}: {{{{{body}}}}}: task has no such output")
        elif parts[0] == "item" and not looped:
            errs.append(f"{where}: {{{{item}}}} outside a loop")
    return errs
