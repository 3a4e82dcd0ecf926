"""Reading a Python file as Python does: bytes -> text -> tree, with every refusal located.

Python decodes a file by its BOM or PEP 263 coding cookie (UTF-8 otherwise),
splits lines only at `\\n`, `\\r\\n` and `\\r` (not at form feeds, U+2028 or
U+0085), parses it, and then its compiler rejects more (duplicate argument
names, `break` outside a loop, unknown `__future__` features, bad
`nonlocal`/`global` ...). `read_python` does the same steps and turns each
refusal into a diagnostic with a line and column, and also refuses integer
literals too long to print, which would break the analysis later. Nesting
deeper than the analysis can walk is reported by `frontend.analyze` (PF102 at
the deepest expression).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from portaflow.compiler.diagnostics import Diagnostic

_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_SYNTAX_HINT = "fix the Python syntax; the file must parse as Python 3.10"


@dataclass(slots=True)
class Source:
    """A file Python would accept: its text, lines and tree."""

    #: The decoded text, without a BOM.
    text: str
    #: Lines as Python counts them, without line endings.
    lines: list[str]
    #: The parsed tree.
    tree: ast.Module


def split_lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them: only `\\n`, `\\r\\n` and `\\r` end a line."""
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def encodable(text: str) -> bool:
    """Whether `text` encodes as UTF-8 (it does not when it holds lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_text(text: str) -> str:
    """`text` with lone surrogates (from escapes like '\\ud800') replaced, so it encodes as UTF-8."""
    return text if encodable(text) else text.encode("utf-8", "replace").decode("utf-8")


def char_col(line_text: str, byte_offset: int) -> int:
    """The 1-based character column of a 0-based UTF-8 byte offset in a line."""
    if line_text.isascii():
        return byte_offset + 1
    return len(line_text.encode()[:byte_offset].decode(errors="ignore")) + 1


def read_python(path: Path, rel: str) -> Source | Diagnostic:
    """The file's source and tree, or the first reason Python would refuse it."""
    if not encodable(rel):  # undecodable bytes in a file name (os.fsdecode's surrogateescape)
        return _error(
            "PF101",
            as_text(rel),
            "the file name is not valid UTF-8; module names and IR paths must be text",
            0,
            0,
            "",
            "rename the file (or folder) with a UTF-8 name",
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _error("PF101", rel, f"cannot read {rel}: {exc.strerror or exc}", 0, 0, "", "")
    decoded = _decode(data, rel)
    if isinstance(decoded, Diagnostic):
        return decoded
    text = decoded
    lines = split_lines(text)
    if "\0" in text:  # Python 3.11 reports it without a location
        before = text[: text.index("\0")]
        line = len(split_lines(before + "x"))
        col = len(_NEWLINE.split(before)[-1]) + 1
        return _error(
            "PF100",
            rel,
            "syntax error: source code cannot contain null bytes",
            line,
            col,
            _line(lines, line),
            "remove the NUL character; is this a binary file?",
        )
    with warnings.catch_warnings():
        # SyntaxWarnings (invalid escapes, `is` with a literal) are Python's business at import.
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(text, filename=rel)
        except SyntaxError as exc:
            return _syntax_error("PF100", rel, lines, exc, byte_offsets=False)
        except (RecursionError, MemoryError):
            line, col = _longest_statement(text)
            return _too_deep(rel, lines, line, col)
        found = _check_tree(tree, text, rel, lines)
        if found is not None:
            return found
        try:
            compile(tree, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return _syntax_error("PF103", rel, lines, exc, byte_offsets=True)
        except UnicodeEncodeError:  # Python 3.13 cannot compile a docstring with a lone surrogate
            line, col = _node_start(_first_unencodable(tree), lines)
            return _error(
                "PF107",
                rel,
                "Python cannot compile this file: a string holds a lone surrogate "
                "(e.g. '\\udcff'), which is not valid UTF-8 text",
                line,
                col,
                _line(lines, line),
                "write the character itself, or one `\\U0001F600`-style escape",
            )
        except (RecursionError, MemoryError):  # Python's compiler gives up near 1000 levels
            line, col = _node_start(deepest_node(tree)[1], lines)
            return _too_deep(rel, lines, line, col)
    return Source(text=text, lines=lines, tree=tree)


def _decode(data: bytes, rel: str) -> str | Diagnostic:
    """Decode as Python does: BOM, else a coding cookie in the first two lines, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing encoding declaration" not in str(exc):
            line = _cookie_line(data)
            return _error(
                "PF104",
                rel,
                f"bad encoding declaration: {exc}",
                line,
                1,
                _raw_line(data, line),
                "declare an encoding Python knows, e.g. `# -*- coding: utf-8 -*-`, or remove it",
            )
        encoding = "utf-8"  # bad bytes in the first two lines: located below
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = len(re.split(rb"\r\n|\r|\n", before))
        last = re.split(rb"\r\n|\r|\n", before)[-1]
        col = len(last.decode(encoding, errors="replace")) + 1
        return _error(
            "PF104",
            rel,
            f"the file is not valid {encoding}: byte 0x{data[exc.start]:02x} cannot be decoded",
            line,
            col,
            _raw_line(data, line),
            "save the file as UTF-8, or declare its encoding in the first line: "
            "`# -*- coding: latin-1 -*-`",
        )
    except LookupError as exc:  # pragma: no cover - detect_encoding checks the codec exists
        return _error("PF104", rel, f"unknown encoding: {exc}", 1, 1, "", "")
    return text[1:] if text.startswith("\ufeff") else text


def _check_tree(tree: ast.Module, text: str, rel: str, lines: list[str]) -> Diagnostic | None:
    """Integer literals too long to print (Python refuses to print them, e.g. in messages)."""
    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
    # Only a long hex, octal or binary literal can pass the parser and still be unprintable.
    if not limit or not re.search(rf"0[xXoObB][0-9a-fA-F_]{{{limit // 2},}}", text):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and type(node.value) is int
            and node.value.bit_length() > 3 * limit
            and not _printable(node.value)
        ):
            line, col = _node_start(node, lines)
            return _error(
                "PF105",
                rel,
                f"an integer literal of about {int(node.value.bit_length() * 0.30103)} digits is "
                f"longer than Python converts to text ({limit} digits)",
                line,
                col,
                _line(lines, line),
                "compute such a number at run time inside a step",
            )
    return None


def deepest_node(tree: ast.AST) -> tuple[int, ast.AST]:
    """The depth and the deepest node that has a location, found without recursion."""
    best: tuple[int, ast.AST] = (0, tree)
    stack: list[tuple[ast.AST, int, ast.AST]] = [(tree, 0, tree)]
    while stack:
        node, depth, located = stack.pop()
        if hasattr(node, "lineno"):
            located = node
        if depth > best[0]:
            best = (depth, located)
        stack.extend((child, depth + 1, located) for child in ast.iter_child_nodes(node))
    return best


def _first_unencodable(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if not encodable(node.value):
                return node
    return tree


def _printable(value: int) -> bool:
    try:
        str(value)
    except ValueError:
        return False
    return True


def _node_start(node: ast.AST, lines: list[str]) -> tuple[int, int]:
    line = getattr(node, "lineno", 1)
    return line, char_col(_line(lines, line), getattr(node, "col_offset", 0))


def _longest_statement(text: str) -> tuple[int, int]:
    """Where the statement with the most tokens starts: the one too deep for the parser."""
    best = (0, 1, 1)
    count, start = 0, (1, 1)
    try:
        for tok in _tokens(text):
            if count == 0 and tok.type in _SKIPPED:
                continue
            if count == 0:
                start = (tok.start[0], tok.start[1] + 1)
            count += 1
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                best = max(best, (count, start[0], start[1]), key=lambda b: b[0])
                count = 0
    except (tokenize.TokenError, SyntaxError):
        best = max(best, (count, start[0], start[1]), key=lambda b: b[0])
    return best[1], best[2]


_SKIPPED = (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.COMMENT, tokenize.NEWLINE)


def _tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    return tokenize.generate_tokens(io.StringIO(text).readline)


def _syntax_error(
    code: str, rel: str, lines: list[str], exc: SyntaxError, *, byte_offsets: bool
) -> Diagnostic:
    line = exc.lineno or 0
    text = _line(lines, line)
    col = exc.offset or 1
    end_col = exc.end_offset if exc.end_lineno == exc.lineno and exc.end_offset else 0
    if byte_offsets:  # the compiler reports UTF-8 byte offsets, the parser characters
        col = char_col(text, col - 1)
        end_col = char_col(text, end_col - 1) if end_col else 0
    return _error(
        code,
        rel,
        f"syntax error: {exc.msg}",
        line,
        max(col, 1),
        text,
        _SYNTAX_HINT if code == "PF100" else "Python rejects this when compiling the file",
        end_col=end_col if end_col > col else col + 1,
    )


def _too_deep(rel: str, lines: list[str], line: int, col: int) -> Diagnostic:
    return _error(
        "PF102",
        rel,
        "this expression is nested too deeply (or is too long) to analyse",
        line,
        col,
        _line(lines, line),
        "split very long or deeply nested expressions, e.g. into a step or several statements",
    )


def _error(
    code: str,
    rel: str,
    message: str,
    line: int,
    col: int,
    source_line: str,
    hint: str,
    *,
    end_col: int = 0,
) -> Diagnostic:
    return Diagnostic(
        code=code,
        severity="error",
        message=message,
        path=rel,
        line=line,
        col=col,
        end_line=line,
        end_col=end_col or (col + 1 if line else 0),
        hint=hint,
        source_line=source_line,
    )


def _line(lines: list[str], line: int) -> str:
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _cookie_line(data: bytes) -> int:
    for no, raw in enumerate(re.split(rb"\r\n|\r|\n", data)[:2], start=1):
        if _COOKIE.match(raw.removeprefix(b"\xef\xbb\xbf")):
            return no
    return 1


def _raw_line(data: bytes, line: int) -> str:
    raw = re.split(rb"\r\n|\r|\n", data)
    if not 0 < line <= len(raw):
        return ""
    return raw[line - 1].removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
