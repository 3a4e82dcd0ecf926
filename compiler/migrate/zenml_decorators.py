"""`@step(...)` and `@pipeline(...)` of ZenML -> portaflow's, argument by argument.

Arguments that translate keep their place, their comments and their spacing; the
ones with no portaflow meaning are dropped and reported (a warning when nothing is
lost at run time, an error when a person must act). Pipeline-wide `enable_cache` and
resource settings have no pipeline-level form in portaflow: they are handed down to
each step the pipeline calls (see `Pushdown`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from portaflow.compiler.diagnostics import Severity
from portaflow.compiler.migrate import zenml_config as config
from portaflow.compiler.migrate.zenml_facts import Facts

#: ZenML step/pipeline argument -> portaflow argument, translated as is.
_RENAMED = {"name": "name", "enable_cache": "cache", "retry": "retries"}
#: Arguments dropped with a warning: ZenML bookkeeping portaflow does its own way.
_BOOKKEEPING = {
    "enable_artifact_metadata": "portaflow records every artifact's hash, size and type itself",
    "enable_artifact_visualization": "portaflow has no visualizations; inspect artifacts with "
    "`portaflow runs show RUN_ID`",
    "enable_step_logs": "portaflow keeps each step's logs with the run",
    "extra": "keep free-form metadata in the step with `log_metadata(...)`",
    "tags": "tag the run's model with `Model(tags=[...])`",
    "substitutions": "portaflow names runs itself",
    "required_integrations": "install what the steps import in their image",
    "model": "portaflow attaches the pipeline's Model (`@pipeline(model=Model(...))`) to the run",
}
#: Arguments dropped with an error: something a person has to rebuild.
_NEEDS_A_PERSON = {
    "experiment_tracker": "log metrics with `portaflow.log_metric(name, value)`, or keep "
    "calling your tracker's client inside the step",
    "step_operator": "run the step in its own image with `@step(image=...)` and "
    "`resources=Resources(...)`",
    "on_failure": "make the hook a @step and pass it as `@pipeline(on_failure=alert)`",
    "on_success": "make the hook a @step and call it last, or pass it as `@pipeline(on_exit=...)`",
    "output_materializers": "portaflow picks a materializer from the type; register your own "
    "with `@portaflow.materializer`",
    "settings": "portaflow has `resources=Resources(...)` and `image=...` on @step",
    "config_path": "pass values with `portaflow run FILE --param k=v`",
    "environment": "set variables with `@step(env={...})`",
    "secrets": "name the secrets with `@step(secrets=[...])`",
}


@dataclass(slots=True)
class Pushdown:
    """Pipeline-wide settings each step of the pipeline gets unless it sets its own."""

    #: portaflow step argument -> value (`cache` -> False, `resources` -> Resources(...)).
    args: dict[str, cst.BaseExpression] = field(default_factory=dict)


@dataclass(slots=True)
class Rewritten:
    """A decorator rewritten, and the portaflow names it needs imported."""

    decorator: cst.Decorator
    needs: set[str] = field(default_factory=set)
    #: For a pipeline: what its steps inherit.
    pushdown: Pushdown = field(default_factory=Pushdown)


class Decorators:
    """Rewrites the ZenML decorators of one module."""

    def __init__(self, facts: Facts, report: config.Report) -> None:
        self.facts = facts
        self.report = report
        #: Module-level names whose value a decorator now holds itself.
        self.inlined: set[str] = set()

    def value(self, expr: cst.BaseExpression) -> tuple[cst.BaseExpression | None, set[str]]:
        """A config value translated; a module-level name bound to a ZenML config is inlined."""
        node = expr
        if isinstance(expr, cst.Name) and expr.value in self.facts.values:
            bound = self.facts.values[expr.value]
            if isinstance(bound, cst.Call) and self.config_kind(bound) is not None:
                node = bound
                self.inlined.add(expr.value)
        if isinstance(node, cst.Call):
            kind = self.config_kind(node)
            if kind is not None:
                got = config.translate(kind, node, self.report)
                return (got.expr, set(got.needs)) if got is not None else (None, set())
        return expr, set()

    def config_kind(self, node: cst.Call) -> str | None:
        kind = self.facts.zenml_name(node.func)
        return kind if kind in config.CONFIG_CLASSES else None

    def rewrite(
        self, kind: str, dec: cst.Decorator, inherited: Pushdown | None = None
    ) -> Rewritten:
        """The portaflow decorator for a ZenML `@step`/`@pipeline` (bare or called)."""
        out = Rewritten(dec)
        func = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if isinstance(func, cst.Attribute):  # @zenml.step -> @step
            out.needs.add(kind)
            func = cst.Name(kind)
            if isinstance(dec.decorator, cst.Call):
                dec = dec.with_changes(decorator=dec.decorator.with_changes(func=func))
            else:
                dec = dec.with_changes(decorator=func)
            out.decorator = dec
        if not isinstance(dec.decorator, cst.Call):
            if not inherited or not inherited.args:
                return out
            call = cst.Call(func=dec.decorator, args=[])
        else:
            call = dec.decorator
        args: list[cst.Arg] = []
        for arg in call.args:
            args.extend(self._arg(kind, arg, out))
        given = {a.keyword.value for a in args if a.keyword is not None}
        for key, value in (inherited.args if inherited else {}).items():
            if key not in given:
                args.append(config.call("x", [(key, value)]).args[0])
                if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                    out.needs.add(value.func.value)
        args = _commas(args, call.args[-1].comma if call.args else cst.MaybeSentinel.DEFAULT)
        if args:
            out.decorator = dec.with_changes(decorator=call.with_changes(args=args))
        else:
            out.decorator = dec.with_changes(decorator=call.func)
        return out

    def _arg(self, kind: str, arg: cst.Arg, out: Rewritten) -> list[cst.Arg]:
        name = arg.keyword.value if arg.keyword is not None else None
        if name is None:
            self._drop(arg, "error", f"a positional argument to @{kind} cannot be translated", "")
            return []
        if name == "settings":
            return self._settings(kind, arg, out)
        if kind == "pipeline" and name == "enable_cache":
            out.pushdown.args["cache"] = arg.value
            return []
        if kind == "pipeline" and name == "retry":  # every step of the pipeline retries
            value, needs = self.value(arg.value)
            if value is not None:
                out.pushdown.args["retries"] = value
                out.needs |= needs
            return []
        if name in _RENAMED or (kind == "pipeline" and name in ("model", "schedule")):
            value, needs = self.value(arg.value)
            if value is None:
                return []
            out.needs |= needs
            new = _RENAMED.get(name, name)
            return [arg.with_changes(keyword=cst.Name(new), value=value)]
        if name in _BOOKKEEPING:
            self._drop(arg, "warning", f"@{kind}({name}=...) is dropped", _BOOKKEEPING[name])
        elif name in _NEEDS_A_PERSON:
            self._drop(
                arg,
                "error",
                f"@{kind}({name}=...) has no portaflow equivalent",
                _NEEDS_A_PERSON[name],
            )
        else:
            self._drop(
                arg, "error", f"@{kind}({name}=...) is not a ZenML option portaflow knows", ""
            )
        return []

    def _settings(self, kind: str, arg: cst.Arg, out: Rewritten) -> list[cst.Arg]:
        value = arg.value
        if isinstance(value, cst.Name) and value.value in self.facts.values:
            self.inlined.add(value.value)
            value = self.facts.values[value.value]
        if not isinstance(value, cst.Dict):
            self._drop(
                arg,
                "error",
                "settings= that is not a dict literal cannot be translated",
                _NEEDS_A_PERSON["settings"],
            )
            return []
        kept: list[cst.Arg] = []
        for el in value.elements:
            key = config.literal(el.key) if isinstance(el, cst.DictElement) else None
            node = el.value
            if isinstance(node, cst.Name) and node.value in self.facts.values:
                self.inlined.add(node.value)
                node = self.facts.values[node.value]
            is_res = isinstance(node, cst.Dict) or (
                isinstance(node, cst.Call)
                and self.facts.zenml_name(node.func) == "ResourceSettings"
            )
            if key == "resources" and is_res:
                assert isinstance(node, (cst.Call, cst.Dict))
                got = config.resources(node, self.report)
                out.needs |= set(got.needs)
                if kind == "pipeline":
                    out.pushdown.args["resources"] = got.expr
                else:
                    kept.append(arg.with_changes(keyword=cst.Name("resources"), value=got.expr))
                continue
            what = f"settings[{key!r}]" if isinstance(key, str) else "this setting"
            hint = (
                "portaflow runs the image you name: build it yourself and pass `@step(image=...)`"
                if key == "docker"
                else "configure the orchestrator with a stack in pyproject.toml [tool.portaflow]"
            )
            self.report("PF832", "error", el, f"{what} has no portaflow equivalent", hint)
        return kept

    def _drop(self, arg: cst.Arg, severity: Severity, message: str, hint: str) -> None:
        code = "PF831" if severity == "warning" else "PF832"
        self.report(code, severity, arg, message, hint or "see docs/migrate/zenml.md")


def _commas(args: list[cst.Arg], last: cst.Comma | cst.MaybeSentinel) -> list[cst.Arg]:
    """Every argument but the last ends in a comma; the last keeps the call's original ending."""
    out = []
    for i, arg in enumerate(args):
        comma: cst.Comma | cst.MaybeSentinel
        if i < len(args) - 1:
            comma = (
                arg.comma
                if isinstance(arg.comma, cst.Comma)
                else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
        else:
            comma = last
        out.append(arg.with_changes(comma=comma))
    return out
