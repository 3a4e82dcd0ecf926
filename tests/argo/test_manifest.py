"""manifest.py cannot drift from hera: every key it emits is the alias of a field of the same hera model."""

from __future__ import annotations

import inspect

import pytest
from hera.workflows import models as m

from portaflow.backends.argo import manifest as mf


@pytest.mark.parametrize("model", sorted(mf.FIELDS))
def test_fields_are_heras(model: str) -> None:
    hera = getattr(m, model)
    aliases = {name: f.alias or name for name, f in hera.model_fields.items()}
    ours = mf.FIELDS[model]
    for attr, key in ours:
        assert attr in aliases, f"{model} has no field {attr!r}"
        assert aliases[attr] == key, f"{model}.{attr} is {aliases[attr]!r} in hera, not {key!r}"
    # Required fields of hera's model are ones we can set.
    required = {name for name, f in hera.model_fields.items() if f.is_required()}
    assert required <= {attr for attr, _ in ours}
    # Order: hera's field order with `name` moved first.
    hera_order = [aliases[a] for a in hera.model_fields]
    keys = [key for _, key in ours]
    want = sorted(keys, key=lambda k: (k != "name", hera_order.index(k)))
    assert keys == want


@pytest.mark.parametrize("model", sorted(mf.BUILDERS))
def test_builders_take_the_table_fields(model: str) -> None:
    params = set(inspect.signature(mf.BUILDERS[model]).parameters)
    fields = {attr for attr, _ in mf.FIELDS[model]}
    assert params == fields
    assert set(mf.FIELDS) == set(mf.BUILDERS)


def test_builders_match_hera_dump() -> None:
    """A builder's dict is what hera's model gives for the same fields, key order included."""
    vf = mf.value_from(path="/p")
    ours = mf.parameter(name="x", value_from=vf)
    theirs = m.Parameter(name="x", value_from=m.ValueFrom(path="/p")).model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    assert ours == theirs
    task = mf.dag_task(name="a", template="t", arguments=mf.arguments(parameters=[ours]))
    task = mf.replace("DAGTask", task, depends="b", with_param="{{x}}")
    assert list(task) == ["name", "arguments", "depends", "template", "withParam"]
    hera_task = m.DAGTask.model_validate(task)
    dumped = hera_task.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped == task
    assert mf.object_meta(labels={"b": "1", "name": "n"}, name="x")["labels"] == {
        "name": "n",
        "b": "1",
    }
    assert list(mf.object_meta(labels={"b": "1", "name": "n"})["labels"]) == ["name", "b"]
