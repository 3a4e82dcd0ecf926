"""The code package for tasks whose entry point is not `portaflow.task` (KFP, Airflow pods).

The bootstrap (`portaflow.bootstrap`, issue 14) fetches, checks and unpacks the code
package, then runs `portaflow.task`. A KFP task runs `portaflow.kfp_task` (KFP's
formats; in-process for the python flavour) and an Airflow pod `portaflow.xcom` (the
XCom file), so they carry `PRELUDE`: it runs the bootstrap's own source
(`BOOTSTRAP_SOURCE`, standard library only) as a module, reusing its fetch and unpack,
and defines `_portaflow_code(want, uri, path)`, which reads the archive at `path` when
the backend delivered it there (an Airflow init container), else fetches `uri` with
fsspec; checks its sha256; unpacks it into the per-digest cache
(`PORTAFLOW_CODE_CACHE`, default `<tmp>/portaflow-code`), puts it first on `sys.path`
and sets `PORTAFLOW_ROOT` to it. A missing or tampered archive exits 2 with the
bootstrap's one line (`portaflow bootstrap: error: code archive ... does not match the
manifest's ...; run portaflow publish`).

- `command(code, entry, path, packages)`: `python -c PROGRAM --code-sha256 H --code-uri
  URI [--code-path PATH] [--package SPEC]... --`, an argv list; the engine appends the
  entry's arguments. `--package` specs (a step's `packages=`) are installed with the
  bootstrap's own `install` (pip, list arguments) after the archive is unpacked.
- `fetch_command(code, path)`: `python -c FETCH --code-uri URI --code-path PATH`, the
  fetch alone (an init container writing the archive to a shared volume; the task
  checks it).
- `source_prelude(code)`: PRELUDE and the first line of a KFP python-flavour function.
"""

from __future__ import annotations

from portaflow.backends import CodeRef
from portaflow.bootstrap import BOOTSTRAP_SOURCE

#: The function a package-mode task calls first (a step input may not take its name).
PREPARE = "_portaflow_code"

#: Runs the bootstrap's source as a module named portaflow_boot (its main does not run).
_BOOT = f'    boot = {{"__name__": "portaflow_boot"}}\n    exec({BOOTSTRAP_SOURCE!r}, boot)\n'

#: Defines `_portaflow_code(want, uri, path=None, packages=())`: the bootstrap's own `prepare`
#: (the archive checked, unpacked and first on sys.path, then the step's `packages=`
#: installed), and PORTAFLOW_ROOT set to the unpacked folder.
PRELUDE = (
    f"def {PREPARE}(want, uri, path=None, packages=()):\n"
    "    import os\n" + _BOOT + "    try:\n"
    '        os.environ["PORTAFLOW_ROOT"] = boot["prepare"](want, uri, path, list(packages))\n'
    '    except boot["BootError"] as exc:\n'
    '        raise SystemExit(boot["fail"](str(exc)))\n'
)

#: Parses `--code-sha256 H --code-uri URI [--code-path PATH] [--package SPEC]... -- ARGS...`.
_ARGS = (
    "args = sys.argv[1:]\n"
    'own, rest = args[: args.index("--")], args[args.index("--") + 1 :]\n'
    "flags, packages = {}, []\n"
    "for key, value in zip(own[::2], own[1::2]):\n"
    '    if key == "--package":\n'
    "        packages.append(value)\n"
    "    else:\n"
    "        flags[key] = value\n"
)

#: An init container's program: the archive fetched with fsspec to --code-path, nothing more.
FETCH = (
    "import os, sys\n"
    "def _fetch(uri, path):\n" + _BOOT + "    try:\n"
    '        data, _ = boot["read"](None, uri)\n'
    '    except boot["BootError"] as exc:\n'
    '        return boot["fail"](str(exc))\n'
    "    os.makedirs(os.path.dirname(path), exist_ok=True)\n"
    '    with open(path + ".part", "wb") as fh:\n'
    "        fh.write(data)\n"
    '    os.replace(path + ".part", path)\n'
    "    return 0\n"
    "flags = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
    'sys.exit(_fetch(flags["--code-uri"], flags["--code-path"]))\n'
)


def program(entry: str) -> str:
    """The `python -c` program: PRELUDE, then `entry`'s `main(args after --)`."""
    return (
        "import sys\n"
        + PRELUDE
        + _ARGS
        + f'{PREPARE}(flags["--code-sha256"], flags["--code-uri"], flags.get("--code-path"), '
        + "packages)\n"
        + f"from {entry} import main\n"
        + "sys.exit(main(rest))\n"
    )


def command(
    code: CodeRef, entry: str, path: str | None = None, packages: tuple[str, ...] = ()
) -> list[str]:
    """`python -c PROGRAM ... --`: the engine appends `entry`'s arguments after the `--`."""
    assert code.uri is not None
    cmd = ["python", "-c", program(entry), "--code-sha256", code.digest, "--code-uri", code.uri]
    cmd += ["--code-path", path] if path else []
    for spec in packages:
        cmd += ["--package", spec]
    return [*cmd, "--"]


def fetch_command(code: CodeRef, path: str) -> list[str]:
    """An init container's command: the archive fetched to `path` (the task checks it)."""
    assert code.uri is not None
    return ["python", "-c", FETCH, "--code-uri", code.uri, "--code-path", path]


def source_prelude(code: CodeRef, packages: tuple[str, ...] = ()) -> tuple[str, str]:
    """The python flavour's module prelude and the first line of the component function."""
    assert code.uri is not None
    args = f"{code.digest!r}, {code.uri!r}" + (f", None, {list(packages)!r}" if packages else "")
    return PRELUDE, f"    {PREPARE}({args})\n"
