"""A small model of what an Argo controller does with the values in our manifests.

Only what the Argo backend's tests must evaluate, each part citing the Argo source
(github.com/argoproj/argo-workflows) it follows; tests/argo/test_releases.py checks it
against Argo's own examples where they show the same behaviour.

- `process_item`: how `{{item}}` is formatted (`processItem` in
  workflow/controller/operator.go; `Item.String` in pkg/apis/workflow/v1alpha1/item.go).
- `aggregate`: how a loop's outputs are aggregated (`processAggregateNodeOutputs` and
  `aggregatedJsonValueList` in workflow/controller/operator.go).
- `depends_ok`: what `depends` means for Skipped and Omitted tasks (`evaluateDependsLogic`
  in workflow/controller/dag.go, `GetTaskDependencies`/`expandDependency` in
  workflow/common/ancestry.go).
- `tags`: fasttemplate's tag scanning (`{{` starts a tag, the first `}}` ends it;
  github.com/valyala/fasttemplate `ExecuteFunc`), used by `template.Replace`.
- `process_args`: the first substitution pass of `SubstituteParams`
  (workflow/common/util.go) runs over the template *with the input values in it*, so a
  value holding a tag is rewritten (the double substitution of `ProcessArgs`).
- `evaluate`: the subset of the expr language (github.com/expr-lang/expr) our tags use,
  with Argo's `jsonpath` and `toJson` (util/expr/env/env.go): JSON numbers decode to
  float64, `toJson` is Go's `json.Marshal` (HTML-escaping, sorted keys).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

# ----------------------------------------------------------------------------- items


def _go_json(v: Any) -> str:
    """Go's json.Marshal of a decoded value (util/expr/env/env.go `toJson`)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        text = json.dumps(v, ensure_ascii=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if isinstance(v, list):
        return "[" + ",".join(_go_json(x) for x in v) + "]"
    return "{" + ",".join(f"{_go_json(k)}:{_go_json(v[k])}" for k in sorted(v)) + "}"


def process_item(item: Any, release: tuple[int, int, int]) -> str:
    """The text `{{item}}` becomes for one withItems/withParam item.

    Before v3.7.16 and v4.0.0 a string, number or bool item is `fmt.Sprintf("%v", item)`,
    i.e. `Item.String()`: json.Marshal with the outer quotes cut off, escapes kept
    (operator.go v3.5.14 lines 3631-3633, item.go lines 62-72). Later releases use
    `item.GetStrVal()` for strings (operator.go v4.1.2 lines 4095-4097). Lists and maps
    are json.Marshal-ed on every release (v3.5.14 lines 3647-3662).
    """
    if isinstance(item, str):
        fixed = release >= (4, 0, 0) or (3, 7, 16) <= release < (4, 0, 0)
        return item if fixed else _go_json(item)[1:-1]
    return _go_json(item)


# ----------------------------------------------------------------------------- aggregation


def aggregate(texts: list[str]) -> str | None:
    """`tasks.L.outputs.parameters.NAME` of a loop whose succeeded iterations output `texts`.

    None when the loop has no iteration at all: `processAggregateNodeOutputs` returns
    early and adds nothing to the scope (operator.go v3.5.14 lines 3285-3287). If every
    text parses as a JSON list or map they are decoded and re-encoded, else kept as
    strings (`tryJsonUnmarshal`/`aggregatedJsonValueList`, v3.5.14 lines 3356-3402).
    """
    if not texts:
        return None
    decoded = []
    for t in texts:
        try:
            v = json.loads(t, parse_int=float)
        except ValueError:
            return _go_json(texts)
        if not isinstance(v, (list, dict)):
            return _go_json(texts)
        decoded.append(v)
    return _go_json(decoded)


# ----------------------------------------------------------------------------- depends

_TASK = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")


def depends_names(depends: str) -> set[str]:
    """Task names a `depends` text refers to (`taskNameRegex`, ancestry.go line 34)."""
    out = set()
    for m in _TASK.finditer(depends):
        out.add(m.group(1).split(".")[0] if m.group(1) else m.group(2))
    return out


def depends_ok(depends: str, phases: dict[str, str]) -> bool:
    """Whether a task with this `depends` runs, given each upstream task's phase.

    A bare name means `(A.Succeeded || A.Skipped || A.Daemoned)` (`expandDependency`);
    names have `-` replaced by `_` and the text is evaluated as an expression over
    {Succeeded, Failed, Errored, Skipped, Omitted, Daemoned} (dag.go v3.5.14 lines
    862-897). A name that is not an identifier fails, as in `validateDAG`.
    """

    def expand(m: re.Match[str]) -> str:
        if m.group(1):
            return m.group(1)
        n = m.group(2)
        return f"({n}.Succeeded || {n}.Skipped || {n}.Daemoned)"

    logic = _TASK.sub(expand, depends).replace("-", "_")
    scope = {
        name.replace("-", "_"): {
            k: phase == k for k in ("Succeeded", "Failed", "Errored", "Skipped", "Omitted")
        }
        | {"Daemoned": False}
        for name, phase in phases.items()
    }
    return bool(evaluate(logic, scope))


# ----------------------------------------------------------------------------- templates


def tags(text: str) -> list[str]:
    """The tags fasttemplate finds: from `{{` to the first `}}` after it."""
    out = []
    i = 0
    while True:
        start = text.find("{{", i)
        if start < 0:
            return out
        end = text.find("}}", start + 2)
        if end < 0:
            raise ValueError(f"unterminated tag in {text!r}")
        out.append(text[start + 2 : end])
        i = end + 2


def process_args(value: str, globals_: dict[str, str]) -> str:
    """An input parameter value after `SubstituteParams`' first pass (util.go v3.5.14 lines
    240-255): the template, input values included, is substituted with the global
    parameters, so every `{{workflow.*}}` tag in a value is replaced (an expression tag
    would be evaluated)."""
    out = value
    for t in tags(value):
        if t.startswith("="):
            raise ValueError(f"an expression tag {t!r} in a value would be evaluated")
        if t.strip() in globals_:
            out = out.replace("{{" + t + "}}", globals_[t.strip()])
    return out


def strict_missing(text: str, scope: dict[str, Any]) -> list[str]:
    """`tasks.*`/`steps.*` references of the expression tags in `text` absent from `scope`.

    v3.7.11-v3.7.15 and v4.0.2-v4.0.6 resolve a DAG task with `template.ReplaceStrict`
    (dag.go v3.7.11 line 736): every member path of every expression is looked up, in
    branches that would never be evaluated too, and a missing `tasks.*` path is an error
    (`expressionReplaceStrict`, util/template/expression_template.go v3.7.11 lines 51-82);
    the task is retried on every reconciliation and never runs.
    """
    missing = []
    for t in tags(text):
        if not t.startswith("="):
            continue
        toks = _tokens(t[1:])
        for i, (kind, v) in enumerate(toks):
            if kind != "name" or v not in ("tasks", "steps"):
                continue
            path, j = [v], i + 1
            while toks[j] in (("op", "."), ("op", "[")):
                if toks[j] == ("op", "."):
                    path.append(toks[j + 1][1])
                    j += 2
                else:
                    path.append(toks[j + 1][1])
                    j += 3
            try:
                _lookup(scope, path)
            except KeyError:
                missing.append(".".join(path))
    return missing


def substitute(text: str, scope: dict[str, Any]) -> str:
    """`template.Replace` of one string: simple tags from `scope`, `{{=...}}` evaluated.

    The result of an expression is `fmt.Sprintf("%v", result)`
    (util/template/expression_template.go v3.5.14 lines 70-90).
    """
    out = []
    i = 0
    for t in tags(text):
        start = text.index("{{" + t + "}}", i)
        out.append(text[i:start])
        if t.startswith("="):
            v = evaluate(t[1:], scope)
            out.append(v if isinstance(v, str) else _go_json(v))
        else:
            out.append(str(_lookup(scope, t.strip().split("."))))
        i = start + len(t) + 4
    out.append(text[i:])
    return "".join(out)


def _lookup(scope: Any, path: list[str]) -> Any:
    for p in path:
        if not isinstance(scope, dict) or p not in scope:
            raise KeyError(".".join(path))
        scope = scope[p]
    return scope


# ----------------------------------------------------------------------------- expressions

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>\|\||&&|==|!=|<=|>=|[-+*/<>!?:()\[\]{},.#%])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)


def _tokens(src: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        m = _TOKEN.match(src, pos)
        if m is None:
            raise SyntaxError(f"bad expression at {src[pos:]!r}")
        pos = m.end()
        if m.group("num"):
            text = m.group("num")
            out.append(("lit", float(text) if "." in text or "e" in text.lower() else int(text)))
        elif m.group("str"):
            out.append(("lit", _unescape(m.group("str")[1:-1])))
        elif m.group("op"):
            out.append(("op", m.group("op")))
        else:
            out.append(("name", m.group("name")))
    out.append(("end", None))
    return out


_ESC = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")
_SIMPLE_ESC = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}


def _unescape(body: str) -> str:
    """An expr string literal's escapes: \\uXXXX, \\UXXXXXXXX, \\n ... and \\<char>."""

    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e[0] in "uU" and len(e) > 1:
            return chr(int(e[1:], 16))
        return _SIMPLE_ESC.get(e, e)

    return _ESC.sub(one, body)


class _Closure:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens


def evaluate(src: str, scope: dict[str, Any]) -> Any:
    """Evaluate an expr-language expression (the subset Argo tags of portaflow use)."""
    return _Parser(_tokens(src), scope, None).run()


def _compare(op: str, v: Any, w: Any) -> bool:
    if op == "==":
        return bool(v == w)
    if op == "!=":
        return bool(v != w)
    if op == "in":
        return v in w
    if op == "contains":
        return w in v
    if op == "startsWith":
        return bool(v.startswith(w))
    return bool({"<": v < w, ">": v > w, "<=": v <= w, ">=": v >= w}[op])


class _Parser:
    """Recursive descent with expr's precedence: ?:, ||, &&, comparisons, +, unary, postfix."""

    def __init__(self, toks: list[tuple[str, Any]], scope: dict[str, Any], it: Any) -> None:
        self.t = toks
        self.i = 0
        self.scope = scope
        self.it = it  # `#` inside a closure

    def run(self) -> Any:
        v = self.ternary()
        if self.t[self.i][0] != "end":
            raise SyntaxError(f"unexpected {self.t[self.i]}")
        return v

    def peek(self, *ops: str) -> bool:
        kind, v = self.t[self.i]
        return kind in ("op", "name") and v in ops

    def take(self, op: str) -> None:
        if not self.peek(op):
            raise SyntaxError(f"expected {op!r}, got {self.t[self.i]}")
        self.i += 1

    def skip_expr(self, stop: tuple[str, ...]) -> None:
        depth = 0
        while True:
            kind, v = self.t[self.i]
            if kind == "end" or (depth == 0 and kind == "op" and v in stop):
                return
            if kind == "op" and v in "([{":
                depth += 1
            if kind == "op" and v in ")]}":
                depth -= 1
            self.i += 1

    def ternary(self) -> Any:
        cond = self.or_()
        if not self.peek("?"):
            return cond
        self.i += 1
        if cond:  # lazy, as in expr: the branch not taken is never evaluated
            v = self.ternary()
            self.take(":")
            self.skip_expr((")", "]", ",", "}"))
            return v
        self.skip_expr((":",))
        self.take(":")
        return self.ternary()

    def or_(self) -> Any:
        v = self.and_()
        while self.peek("||", "or"):
            self.i += 1
            if v:
                self.skip_expr(("||", ")", "]", ",", "}", "?", ":"))
            else:
                v = self.and_()
        return v

    def and_(self) -> Any:
        v = self.cmp()
        while self.peek("&&", "and"):
            self.i += 1
            if not v:
                self.skip_expr(("&&", "||", ")", "]", ",", "}", "?", ":"))
            else:
                v = self.cmp()
        return v

    def cmp(self) -> Any:
        v = self.add()
        while self.peek("==", "!=", "<", ">", "<=", ">=", "in", "contains", "startsWith"):
            op = self.t[self.i][1]
            self.i += 1
            w = self.add()
            v = _compare(op, v, w)
        return v

    def add(self) -> Any:
        v = self.unary()
        while self.peek("+", "-"):
            op = self.t[self.i][1]
            self.i += 1
            w = self.unary()
            v = v + w if op == "+" else v - w
        return v

    def unary(self) -> Any:
        if self.peek("!", "not"):
            self.i += 1
            return not self.unary()
        if self.peek("-"):
            self.i += 1
            return -self.unary()
        return self.postfix()

    def postfix(self) -> Any:
        v = self.primary()
        while True:
            if self.peek("."):
                self.i += 1
                name = self.t[self.i][1]
                self.i += 1
                v = v[name]
            elif self.peek("["):
                self.i += 1
                k = self.ternary()
                self.take("]")
                if isinstance(v, list) and not (isinstance(k, int) and -len(v) <= k < len(v)):
                    raise IndexError(f"index {k} out of range")
                v = v[k]
            else:
                return v

    def args(self) -> list[Any]:
        self.take("(")
        out = []
        while not self.peek(")"):
            if self.peek("{"):
                out.append(self.closure())
            else:
                out.append(self.ternary())
            if self.peek(","):
                self.i += 1
        self.take(")")
        return out

    def closure(self) -> _Closure:
        self.take("{")
        start = self.i
        self.skip_expr(("}",))
        body = self.t[start : self.i] + [("end", None)]
        self.take("}")
        return _Closure(body)

    def call(self, fn: _Closure, it: Any) -> Any:
        return _Parser(fn.tokens, self.scope, it).run()

    def primary(self) -> Any:
        kind, v = self.t[self.i]
        self.i += 1
        if kind == "lit":
            return v
        if kind == "op" and v == "(":
            x = self.ternary()
            self.take(")")
            return x
        if kind == "op" and v == "#":
            return self.it
        if kind == "op" and v == "[":
            items = []
            while not self.peek("]"):
                items.append(self.ternary())
                if self.peek(","):
                    self.i += 1
            self.take("]")
            return items
        if kind == "op" and v == "{":
            d = {}
            while not self.peek("}"):
                k = self.primary()
                self.take(":")
                d[k] = self.ternary()
                if self.peek(","):
                    self.i += 1
            self.take("}")
            return d
        if kind != "name":
            raise SyntaxError(f"unexpected {v!r}")
        consts = {"nil": None, "true": True, "false": False}
        if v in consts:
            return consts[v]
        if self.peek("("):
            a = self.args()
            return self.builtin(v, a)
        if v not in self.scope:
            raise KeyError(v)
        return self.scope[v]

    def builtin(self, name: str, a: list[Any]) -> Any:
        if name == "jsonpath":
            assert a[1] == "$"
            # util/expr/env/env.go: json.Unmarshal into `any`, numbers become float64.
            return json.loads(a[0], parse_int=float)
        if name == "toJson":
            return _go_json(a[0])
        if name == "len":
            return len(a[0])
        if name == "replace":
            return a[0].replace(a[1], a[2])
        if name == "join":
            return a[1].join(a[0])
        if name == "map":
            return [self.call(a[1], x) for x in a[0]]
        if name == "filter":
            return [x for x in a[0] if self.call(a[1], x)]
        raise NameError(name)


# ----------------------------------------------------------------------------- loops


def expand(task: dict[str, Any], scope: dict[str, Any], release: tuple[int, int, int]) -> list[str]:
    """The `{{item}}` text of each iteration of a DAG task with withItems/withParam.

    withParam is substituted, then parsed as a JSON list (`expandTask` in dag.go); each
    item is formatted by `process_item`. An empty list gives no iteration at all.
    """
    if "withItems" in task:
        items = task["withItems"]
    else:
        items = json.loads(substitute(task["withParam"], scope))
    return [process_item(i, release) for i in items]


def template_output(param: dict[str, Any], scope: dict[str, Any]) -> str:
    """A DAG template's output parameter: its valueFrom, or `default` when that cannot be
    resolved (`getTemplateOutputsFromScope`, operator.go v3.5.14 lines 3017-3040)."""
    vf = param["valueFrom"]
    try:
        if "parameter" in vf:
            return substitute(vf["parameter"], scope)
        v = evaluate(vf["expression"], scope)
        return v if isinstance(v, str) else _go_json(v)
    except (KeyError, IndexError, TypeError):
        if "default" in vf:
            return str(vf["default"])
        raise


def float64(n: int) -> int:
    """What an integer becomes after a float64 round trip (Go's json.Unmarshal into any)."""
    return int(float(n)) if math.isfinite(float(n)) else n


# ----------------------------------------------------------------------------- whole runs


class Hang(Exception):
    """A task the controller would requeue forever (strict reference resolution)."""


def _strict(release: tuple[int, int, int]) -> bool:
    """Releases with strict `tasks.*` resolution (see `strict_missing`)."""
    return (3, 7, 11) <= release < (3, 7, 16) or (4, 0, 2) <= release < (4, 0, 7)


class Run:
    """Runs an emitted Workflow of parameter-only steps through the model, in process.

    DAG tasks go in dependency order; each is Omitted if `depends_ok` says so (before its
    references are resolved, dag.go v3.5.14 lines 517-538), else its references are
    resolved (strictly on the strict releases), its loop expanded (`expand`; an empty
    list makes it Skipped), and each iteration Skipped if `when` is false, else run.
    Loop outputs are `aggregate`d; DAG template outputs use `template_output`. A
    container's input values first go through `process_args`, then the step function is
    called with its `--param` values decoded as the task runtime does; its outputs are
    encoded as the runtime writes them (`encode`). `calls` records (task id, inputs).
    """

    def __init__(self, doc: dict[str, Any], steps: Any, release: tuple[int, int, int]) -> None:
        spec = doc["spec"]
        self.templates = {t["name"]: t for t in spec["templates"]}
        self.steps = steps
        self.release = release
        params = {p["name"]: p["value"] for p in spec.get("arguments", {}).get("parameters", [])}
        self.globals: dict[str, Any] = {
            "workflow": {"parameters": params, "name": "wf", "uid": "u"}
        }
        self.flat = {"workflow.name": "wf", "workflow.uid": "u"} | {
            f"workflow.parameters.{k}": v for k, v in params.items()
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.outputs = self.template(spec["entrypoint"], {})

    def template(self, name: str, inputs: dict[str, str]) -> dict[str, str]:
        t = self.templates[name]
        return self._container(t, inputs) if "container" in t else self._dag(t, inputs)

    def _dag(self, t: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
        tasks: dict[str, Any] = {}
        scope = {**self.globals, "inputs": {"parameters": inputs}, "tasks": tasks}
        phases: dict[str, str] = {}
        pending = list(t["dag"]["tasks"])
        while pending:
            task = next(x for x in pending if depends_names(x.get("depends", "")) <= set(phases))
            pending.remove(task)
            name, deps = task["name"], depends_names(task.get("depends", ""))
            if deps and not depends_ok(task["depends"], {d: phases[d] for d in deps}):
                phases[name] = "Omitted"
                continue
            if _strict(self.release):
                missing = [m for s in _strings(task) for m in strict_missing(s, scope)]
                if missing:
                    raise Hang(f"{name}: {missing}")
            loop = "withItems" in task or "withParam" in task
            items = expand(task, scope, self.release) if loop else [None]
            texts: dict[str, list[str]] = {}
            ran = False
            for item in items:
                it = {**scope, "item": item} if loop else scope
                if "when" in task and substitute(task["when"], it) != "true":
                    continue
                args = task.get("arguments", {}).get("parameters", [])
                outs = self.template(
                    task["template"], {a["name"]: substitute(a["value"], it) for a in args}
                )
                ran = True
                for k, v in outs.items():
                    texts.setdefault(k, []).append(v)
            if loop and items:
                agg = {k: aggregate(v) for k, v in texts.items()}
                tasks[name] = {"outputs": {"parameters": agg}}
                phases[name] = "Succeeded"
            elif ran:
                tasks[name] = {"outputs": {"parameters": {k: v[0] for k, v in texts.items()}}}
                phases[name] = "Succeeded"
            else:
                phases[name] = "Skipped"
        outs = t.get("outputs", {}).get("parameters", [])
        return {p["name"]: template_output(p, scope) for p in outs}

    def _container(self, t: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
        inputs = {k: process_args(v, self.flat) for k, v in inputs.items()}
        scope = {**self.globals, "inputs": {"parameters": inputs}}
        cmd = [substitute(a, scope) for a in t["container"]["command"]]
        flags: dict[str, list[str]] = {}
        for flag, value in itertools.pairwise(cmd):
            if flag.startswith("--"):
                flags.setdefault(flag, []).append(value)
        kwargs = {}
        for text in flags.get("--param", []):
            k, _, v = text.partition("=")
            try:
                kwargs[k] = json.loads(v)
            except ValueError:
                kwargs[k] = v  # docs/CONTRACTS.md: raw text for str inputs
        for text in flags.get("--flatten", []):
            k, _, n = text.partition("=")
            for _ in range(int(n)):
                kwargs[k] = [x for sub in kwargs[k] for x in sub]
        self.calls.append((inputs["portaflow-task"], kwargs))
        result = self.steps(flags["--step"][0])(**kwargs)
        outs = {}
        for text in flags.get("--output-param", []):
            k, _, path = text.partition("=")
            value = result[k] if isinstance(result, dict) and k != "output" else result
            outs[path.rsplit("/", 1)[-1].removesuffix(".json")] = encode(value)
        return outs


def encode(value: Any) -> str:
    """A parameter output as the task runtime writes it (runtime/task.py)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("$", "\\u0024").replace("{{", "{\\u007b")


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []
