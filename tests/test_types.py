"""The library code type-checks and the whole tree passes the linter (STYLE.md 11; both configured in pyproject.toml)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT


def test_the_library_code_type_checks():
    pytest.importorskip("mypy", reason="mypy is a test dependency: pip install -e '.[test]'")
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tree_passes_ruff():
    pytest.importorskip("ruff", reason="ruff is a test dependency: pip install -e '.[test]'")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
