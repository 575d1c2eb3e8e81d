"""The library code type-checks (STYLE.md 11: mypy with check_untyped_defs, configured in pyproject.toml)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


def test_the_library_code_type_checks():
    pytest.importorskip("mypy", reason="mypy is a test dependency: pip install -e '.[test]'")
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
