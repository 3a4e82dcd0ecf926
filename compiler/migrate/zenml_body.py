"""Inside a ZenML pipeline body: legacy step slots, invocation `id=` and `after="name"`.

A legacy pipeline (`zenml.pipelines`, before 0.40) takes its steps as parameters and
is bound where it runs: `p(importer=load_data(), trainer=train()).run()`. Its body
calls the slot names; the slots are replaced by the bound step functions and the
parameters removed. ZenML orders steps by invocation id (`after="train"`, the step's
name unless `id=` says otherwise); portaflow orders them by result name
(`after=[model]`), so the call waited on is given a name when it has none.
"""

from __future__ import annotations

import libcst as cst

from portaflow.compiler.migrate import zenml_config as config


def invocation_id(call: cst.Call) -> str | None:
    """ZenML's invocation id of a step call: its `id=`, else the function's name."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "id":
            value = config.literal(arg.value)
            return value if isinstance(value, str) else None
    return call.func.value if isinstance(call.func, cst.Name) else None


def _waits_on(call: cst.Call) -> list[str]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "after":
            value = arg.value
            items = (
                [e.value for e in value.elements]
                if isinstance(value, (cst.List, cst.Tuple))
                else [value]
            )
            return [v for v in (config.literal(i) for i in items) if isinstance(v, str)]
    return []


class PipelineBody(cst.CSTTransformer):
    """Rewrites one pipeline body (run on the function's updated body)."""

    def __init__(self, slots: dict[str, str], report: config.Report) -> None:
        super().__init__()
        self.slots = slots
        self.report = report
        #: Invocation id -> the name its result is bound to.
        self.results: dict[str, str] = {}
        #: Invocation ids some `after=` waits on.
        self.awaited: set[str] = set()

    def prepare(self, body: cst.BaseSuite) -> None:
        """Learn which results are named and which invocations are waited on."""
        outer = self

        class Scan(cst.CSTVisitor):
            def visit_Assign(self, node: cst.Assign) -> None:
                target: cst.BaseExpression | None = (
                    node.targets[0].target if len(node.targets) == 1 else None
                )
                if isinstance(target, cst.Tuple) and target.elements:
                    target = target.elements[0].value
                if isinstance(node.value, cst.Call) and isinstance(target, cst.Name):
                    inv = invocation_id(node.value)
                    if inv is not None:
                        outer.results.setdefault(inv, target.value)

            def visit_Call(self, node: cst.Call) -> None:
                outer.awaited.update(_waits_on(node))

        body.visit(Scan())

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        small = updated_node.body[0] if len(updated_node.body) == 1 else None
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            inv = invocation_id(original_call(original_node))
            if inv is not None and inv in self.awaited and inv not in self.results:
                name = f"{inv}_done"
                self.results[inv] = name
                assign = cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=small.value)
                return updated_node.with_changes(body=[assign])
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = updated_node.func
        if isinstance(func, cst.Name) and func.value in self.slots:
            updated_node = updated_node.with_changes(func=cst.Name(self.slots[func.value]))
        args: list[cst.Arg] = []
        changed = False
        for orig, arg in zip(original_node.args, updated_node.args, strict=True):
            key = arg.keyword.value if arg.keyword is not None else None
            if key == "id":
                changed = True
                continue
            if key == "after":
                changed = True
                names = []
                for inv in _waits_on(original_node):
                    if inv in self.results:
                        names.append(cst.Element(cst.Name(self.results[inv])))
                    else:
                        self.report(
                            "PF835",
                            "error",
                            orig,
                            f"`after=` waits on {inv!r}, which no step call of this pipeline is",
                            "order with `after=[result]`, naming a result assigned from a step",
                        )
                if len(names) != len(_waits_on(original_node)) or not names:
                    if not _waits_on(original_node):
                        self.report(
                            "PF835",
                            "error",
                            orig,
                            "`after=` that is not a step name or a list of them",
                            "order with `after=[result]`, naming a result assigned from a step",
                        )
                    continue
                value = cst.List(
                    [
                        e.with_changes(
                            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                            if i < len(names) - 1
                            else cst.MaybeSentinel.DEFAULT
                        )
                        for i, e in enumerate(names)
                    ]
                )
                arg = arg.with_changes(value=value)
            args.append(arg)
        if not changed:
            return updated_node
        if args:
            last = updated_node.args[-1].comma
            args[-1] = args[-1].with_changes(comma=last)
        return updated_node.with_changes(args=args)


def original_call(stmt: cst.SimpleStatementLine) -> cst.Call:
    small = stmt.body[0]
    assert isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)
    return small.value
