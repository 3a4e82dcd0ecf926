"""The code package on KFP (issue 14, docs/deploy.md): the bootstrap's own fetch.

In package mode (`EmitOptions.code`, a `CodeRef`) each Python task's pod fetches the
archive from the store with fsspec (the bootstrap's fetch: `portaflow/_boot.py`), checks
its sha256 against the digest compiled into the spec, unpacks it into the per-digest
cache and puts it first on `sys.path`; then the task runs as in an image holding
portaflow (`PORTAFLOW_ROOT` = the unpacked folder).

Why not a `dsl.importer` task feeding an input artifact: KFP's launcher downloads an
`s3://` input artifact with the object-store credentials of its own `kfp-launcher`
ConfigMap, a cluster-side setting apart from the stack's `store_secret`, so the store
would have to be configured twice; the task already holds the store's credentials
(`secretAsEnv`) and fsspec/s3fs, which it needs to write its records. The fetch also
works under kfp.local, which resolves no remote artifact.

The bootstrap runs `portaflow.task`, but a KFP task runs `portaflow.kfp_task` (KFP's
formats), in-process for the python flavour. So both flavours carry `PRELUDE`, which
runs the bootstrap's source (`BOOTSTRAP_SOURCE`, standard library only) as a module to
reuse its fetch and unpack, and makes the archive importable:

- `container`: `python -c PROGRAM --code-sha256 H --code-uri URI -- <kfp_task args>`,
  an argv list; PROGRAM is PRELUDE plus a call of `portaflow.kfp_task.main`.
- `python`: the generated component module starts with PRELUDE, and the component
  function calls `_portaflow_code(H, URI)` before anything else.

A missing or tampered archive exits 2 with the bootstrap's one line
(`portaflow bootstrap: error: code archive ... does not match the manifest's ...;
run portaflow publish`).
"""

from __future__ import annotations

from portaflow.backends import CodeRef
from portaflow.bootstrap import BOOTSTRAP_SOURCE

#: The function a package-mode task calls first (a step input may not take its name).
PREPARE = "_portaflow_code"

#: Defines `_portaflow_code(want, uri)`: the archive unpacked and first on sys.path.
PRELUDE = (
    f"def {PREPARE}(want, uri):\n"
    "    import hashlib, os, sys, tarfile, tempfile\n"
    '    boot = {"__name__": "portaflow_boot"}\n'
    f"    exec({BOOTSTRAP_SOURCE!r}, boot)\n"
    '    cache = os.environ.get("PORTAFLOW_CODE_CACHE") or os.path.join(\n'
    '        tempfile.gettempdir(), "portaflow-code")\n'
    "    dest = os.path.join(cache, want)\n"
    "    if not os.path.isdir(dest):\n"
    "        try:\n"
    '            data = boot["fetch"](uri)\n'
    "        except ImportError:\n"
    '            raise SystemExit(boot["fail"](\n'
    '                f"cannot fetch {uri}: install fsspec (and s3fs for s3://) in the image"))\n'
    "        except Exception as exc:\n"
    '            raise SystemExit(boot["fail"](\n'
    '                f"cannot read the code archive {uri}: {exc}; run portaflow publish"))\n'
    "        got = hashlib.sha256(data).hexdigest()\n"
    "        if got != want:\n"
    '            raise SystemExit(boot["fail"](\n'
    '                f"code archive {uri} has sha256 {got}, which does not match the "\n'
    '                f"manifest\'s {want}; run portaflow publish"))\n'
    "        os.makedirs(cache, exist_ok=True)\n"
    "        try:\n"
    '            boot["unpack"](data, dest)\n'
    "        except (ValueError, tarfile.TarError) as exc:\n"
    '            raise SystemExit(boot["fail"](f"{exc} ({uri}); run portaflow publish"))\n'
    "    sys.path.insert(0, dest)\n"
    '    os.environ["PORTAFLOW_ROOT"] = dest\n'
)

#: The container flavour's `python -c` program: PRELUDE, then `portaflow.kfp_task`'s main.
PROGRAM = (
    "import sys\n"
    + PRELUDE
    + "args = sys.argv[1:]\n"
    + 'own, rest = args[: args.index("--")], args[args.index("--") + 1 :]\n'
    + "flags = dict(zip(own[::2], own[1::2]))\n"
    + f'{PREPARE}(flags["--code-sha256"], flags["--code-uri"])\n'
    + "from portaflow.kfp_task import main\n"
    + "sys.exit(main(rest))\n"
)


def container_command(code: CodeRef) -> list[str]:
    """The container flavour's command in package mode; KFP appends the args (the
    `portaflow.kfp_task` flags, unchanged) after its `--`."""
    assert code.uri is not None
    return ["python", "-c", PROGRAM, "--code-sha256", code.digest, "--code-uri", code.uri, "--"]


def source_prelude(code: CodeRef) -> tuple[str, str]:
    """The python flavour's module prelude and the first line of the component function."""
    assert code.uri is not None
    return PRELUDE, f"    {PREPARE}({code.digest!r}, {code.uri!r})\n"
