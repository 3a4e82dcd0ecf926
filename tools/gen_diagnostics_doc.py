"""Write docs/diagnostics.md from the code table in portaflow.compiler.diagnostics.

Usage: python tools/gen_diagnostics_doc.py   (tests/test_diagnostics.py checks it is current)
"""

from __future__ import annotations

import sys
from pathlib import Path

from portaflow.compiler.diagnostics import CODES

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "diagnostics.md"

HEADER = """# Diagnostic codes

Every message of `portaflow check` / `compile` carries a stable code. Codes are
never reused. Errors (PF0xx-PF3xx) stop compilation; warnings (PF9xx) do not,
unless `portaflow check --strict`. `--format json` prints the same data for
editors and CI. Each code has a case in `tests/diagnostics/` showing a line
that triggers it.

A diagnostic reads like a compiler's:

```
pipeline.py:17:5: error PF200: 'while' is not allowed in a @pipeline body
   17 |     while x:
      |     ^^^^^^^^
      = hint: fan out with `for item in items:` over a list, or loop inside a step
```

| code | meaning |
| --- | --- |
"""


def render() -> str:
    rows = "".join(f"| {code} | {text} |\n" for code, text in CODES.items())
    return HEADER + rows


def main() -> int:
    DOC.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
