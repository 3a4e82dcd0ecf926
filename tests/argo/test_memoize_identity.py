"""Argo's memoize key covers the step's env, secret names and image, as the local cache does."""

from __future__ import annotations

import dataclasses

import yaml

from portaflow.backends import EmitOptions
from portaflow.backends.argo import emit
from portaflow.compiler import ir
from portaflow.protocol import step_identity

from . import fixtures as fx

BASE = ir.StepConfig(image="python:3.11", env=(("MODE", "a"),), secrets=("creds",))


def _memo_key(config: ir.StepConfig) -> str:
    p = fx.ml()
    changed = tuple(
        dataclasses.replace(s, config=config) if s.ref == "steps:ingest" else s for s in p.steps
    )
    p = dataclasses.replace(p, steps=changed)
    (doc,) = [yaml.safe_load(f.text) for f in emit(p, options=EmitOptions()).files]
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    (tpl,) = [t for t in spec["templates"] if t["name"] == "ingest"]
    key: str = tpl["memoize"]["key"]
    return key


def test_the_memoize_key_holds_the_step_identity() -> None:
    key = _memo_key(BASE)
    code_hash = next(s.code_hash for s in fx.ml().steps if s.ref == "steps:ingest")
    identity = step_identity(
        code_hash=code_hash, image="python:3.11", env=(("MODE", "a"),), secrets=("creds",)
    )
    assert f"'{identity}'" in key or f'"{identity}"' in key, key


def test_env_secret_names_and_image_change_the_memoize_key() -> None:
    key = _memo_key(BASE)
    assert _memo_key(BASE) == key
    assert _memo_key(dataclasses.replace(BASE, env=(("MODE", "b"),))) != key
    assert _memo_key(dataclasses.replace(BASE, secrets=("other",))) != key
    assert _memo_key(dataclasses.replace(BASE, image="python:3.12")) != key
