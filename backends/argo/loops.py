"""Loop items, loop-body guards and fan-in in the one form that runs right on every Argo release.

Three controller behaviours shape this (docs/backends/argo.md, "Supported releases"):

- Before v3.7.16 / v4.0.0 a string loop item reaches `{{item}}` as `Item.String()`, which
  keeps the JSON escapes (`processItem` in workflow/controller/operator.go); a list item
  is `json.Marshal`-ed exactly on every release. So every item is a one-element list
  holding the item's JSON text, and the loop body reads element 0.
- An empty `withParam` makes a Skipped node with no aggregated outputs at all
  (`executeDAGTask` in dag.go; `processAggregateNodeOutputs` returns early), so a fan-in
  reading them breaks. So every loop gets one extra *sentinel* item, the empty list: its
  iteration runs no task (each loop-body node is guarded by `when`) and exports "" (the
  `default` of the loop template's outputs).
- Aggregated outputs that all parse as JSON lists or maps are decoded into Go values
  (float64: integers beyond 2**53 are rounded) and re-encoded (`{{` in strings comes back
  raw); the sentinel's "" never parses, so Argo keeps the list of texts as they are
  (`aggregatedJsonValueList`). The fan-in joins the non-empty texts into a JSON list by
  string concatenation, so values arrive exactly as the steps wrote them.
"""

from __future__ import annotations

import json

from . import values

#: The loop template's input holding `[item JSON text]` (or `[]` for the sentinel).
ITEM = values.expr_var("inputs", "parameters", "item")
#: The decoded item parameter: a list of zero or one JSON texts.
_ITEM_LIST = values.decode(ITEM)
#: True in every iteration but the sentinel's.
REAL = f"len({_ITEM_LIST}) > 0"


def wrap_literal(item_json: str) -> str:
    """The item parameter value for a literal item, given its JSON text: `["<text>"]`."""
    return "[" + json.dumps(item_json, ensure_ascii=False) + "]"


def with_items(item_texts: list[str]) -> list[list[str]]:
    """withItems for a literal list: the sentinel, then each item's JSON text in a list."""
    return [[], *([t] for t in item_texts)]


def with_param(list_expr: str, *, in_loop: bool) -> str:
    """withParam for a list held as JSON text by `list_expr`: the sentinel, then each item.

    Built by string concatenation so no item is decoded twice. Inside another loop's
    sentinel iteration the list does not exist: the ternary (evaluated lazily) yields `[]`.
    """
    each = "{',' + toJson([" + values.safe_json("toJson(#)") + "])}"
    body = f"'[[]' + join(map({values.decode(list_expr)}, {each}), '') + ']'"
    if in_loop:
        body = f"{REAL} ? {body} : '[]'"
    return "{{=" + body + "}}"


def item_expr(path: tuple[str, ...]) -> str:
    """The JSON text of the current item (or of a field of it), as an expr."""
    text = f"{_ITEM_LIST}[0]"
    if path:
        sub = "".join(f"[{values.expr_string(k)}]" for k in path)
        text = values.safe_json(f"toJson({values.decode(text)}{sub})")
    return f"({REAL} ? {text} : 'null')"


def guard(when: str | None) -> str:
    """A loop-body node's `when`: never in the sentinel iteration, else its own condition."""
    if when is None:
        return "{{=" + REAL + "}}"
    assert when.startswith("{{=") and when.endswith("}}")
    return "{{=" + REAL + " && (" + when[3:-2] + ")}}"


def fan_in(texts_expr: str) -> str:
    """The JSON list of the non-empty texts in the expr list `texts_expr`."""
    return f"'[' + join(filter({texts_expr}, {{# != ''}}), ',') + ']'"
