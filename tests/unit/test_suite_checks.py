"""The suite itself: every test checks something that could fail."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_database

TESTS = Path(__file__).resolve().parents[1]
# A call whose name holds one of these words counts as a check: pytest.raises, pytest.fail,
# helpers such as check_snapshot or assert_sent.
CHECKS = ("assert", "check", "expect", "verify", "raises", "warns", "fail")


def _checks_something(test: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if any(word in name.lower() for word in CHECKS):
                return True
    return False


def test_every_test_checks_something() -> None:
    files = sorted(TESTS.rglob("test_*.py"))
    assert len(files) > 50, f"only {len(files)} test files found under {TESTS}"
    silent = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test")
                and not _checks_something(node)
            ):
                silent.append(f"{path.relative_to(TESTS)}:{node.lineno} {node.name}")
    assert not silent, "tests that check nothing; give each an assert:\n" + "\n".join(silent)
