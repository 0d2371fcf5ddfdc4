"""Every module is one a reader can take in whole: at most 400 lines, no function over 60."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("incidents", "compensation", "statuspage")
SKIPPED = ("statuspage/migrations/versions",)  # migration scripts: frozen once released
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Justified exceptions: "path" for a module, "path:Class.function" for a function, each with
# why it may be longer (a long declarative table, say). Keep it tiny; an entry that no longer
# exceeds its limit fails `test_every_allowance_is_still_needed`, so the list stays honest.
ALLOWED: dict[str, str] = {}

_HOW = (
    "split it into modules named for what they hold (README, 'Layout': a reader finds any "
    "behaviour in two hops, folder then file), or, if it is one declarative table, add it to "
    "ALLOWED in tests/test_layout.py with the reason"
)
_HOW_FUNCTION = (
    "split it into its steps, each a function named for what it does (a paragraph that needs a "
    "comment is a step), or, if it is one declarative table, add it to ALLOWED in "
    "tests/test_layout.py with the reason"
)


def modules(root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """Each module's path (relative, with slashes) and text."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if not name.startswith(SKIPPED):
                yield name, path.read_text(encoding="utf-8")


def function_sizes(text: str) -> dict[str, int]:
    """Lines of each function and method by qualified name (`Class.method`, `outer.inner`)."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    assert child.end_lineno is not None
                    size = child.end_lineno - child.lineno + 1
                    found[name] = max(size, found.get(name, 0))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(text), "")
    return found


def sizes(root: Path = ROOT) -> dict[str, tuple[int, int]]:
    """Every module and function by its ALLOWED-style key: (its lines, its limit)."""
    measured: dict[str, tuple[int, int]] = {}
    for name, text in modules(root):
        measured[name] = (len(text.splitlines()), MAX_MODULE_LINES)
        for function, size in function_sizes(text).items():
            measured[f"{name}:{function}"] = (size, MAX_FUNCTION_LINES)
    return measured


@cache
def _tree() -> dict[str, tuple[int, int]]:
    return sizes()


def over(measured: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {key: size for key, size in measured.items() if size[0] > size[1]}


def stale(allowed: dict[str, str], measured: dict[str, tuple[int, int]]) -> list[str]:
    """Allowances for something gone or back within its limit."""
    return [key for key in allowed if key not in measured or measured[key][0] <= measured[key][1]]


def test_every_module_is_at_most_400_lines() -> None:
    too_long = {key: size for key, size in over(_tree()).items() if ":" not in key}
    problems = [
        f"{key} has {lines} lines (limit {limit}): {_HOW}"
        for key, (lines, limit) in sorted(too_long.items())
        if key not in ALLOWED
    ]
    assert not problems, "\n".join(problems)


def test_every_function_is_at_most_60_lines() -> None:
    too_long = {key: size for key, size in over(_tree()).items() if ":" in key}
    problems = [
        f"{key} has {lines} lines (limit {limit}): {_HOW_FUNCTION}"
        for key, (lines, limit) in sorted(too_long.items())
        if key not in ALLOWED
    ]
    assert not problems, "\n".join(problems)


def test_every_allowance_is_still_needed() -> None:
    measured = _tree()
    problems = [
        f"ALLOWED[{key!r}] is not needed: "
        + (
            f"it has {measured[key][0]} lines, within the limit of {measured[key][1]}"
            if key in measured
            else "no such module or function"
        )
        + "; remove the entry from tests/test_layout.py"
        for key in stale(ALLOWED, measured)
    ]
    assert not problems, "\n".join(problems)


def test_every_allowance_gives_its_reason() -> None:
    assert [key for key, reason in ALLOWED.items() if len(reason.strip()) < 20] == []


def test_the_measure_counts_modules_functions_and_methods(tmp_path: Path) -> None:
    package = tmp_path / "compensation"
    package.mkdir()
    (tmp_path / "incidents").mkdir()
    (tmp_path / "statuspage" / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "statuspage" / "migrations" / "versions" / "0001.py").write_text("x = 1\n" * 500)
    lines = [
        "def short():",
        "    pass",
        "async def long():",
        *["    x = 1"] * 60,
        "class Kind:",
        "    def method(self):",
        *["        x = 1"] * 60,
        *["y = 2"] * 305,
    ]
    (package / "long.py").write_text("\n".join(lines) + "\n")
    measured = sizes(tmp_path)
    assert over(measured) == {
        "compensation/long.py:long": (61, 60),
        "compensation/long.py:Kind.method": (61, 60),
        "compensation/long.py": (430, 400),
    }
    assert measured["compensation/long.py:short"] == (2, 60)
    assert stale(
        {"compensation/long.py:long": "a table", "compensation/long.py:short": "once long"},
        measured,
    ) == ["compensation/long.py:short"]
    assert stale({"compensation/gone.py": "was long"}, measured) == ["compensation/gone.py"]
