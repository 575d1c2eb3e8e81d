"""The package is self-contained: the wheel holds the templates, static files, taxonomy, demo data and migrations, and
`evidence demo` from that wheel, installed in a fresh virtual environment, builds a site from an empty folder.

Nothing is downloaded: the wheel is built without build isolation (setuptools is already installed), and the venv sees
the already-installed dependencies (--system-site-packages) while `evidence` itself comes from the wheel (--no-deps)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EVIDENCE_DB", "EVIDENCE_TAXONOMY", "EVIDENCE_CURATION")}
    env["PIP_NO_INDEX"] = "1"  # never the network
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")  # a copy, so the build leaves nothing in the checkout
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "evidence", source / "evidence", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(dist), str(source)],
                 cwd=source)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = dist.glob("evidence-*.whl")
    return path


def test_the_wheel_holds_everything_a_site_needs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, pattern in (("templates", "*.html"), ("templates/static", "*"), ("classify", "*.yaml"), ("demo", "**/*"),
                            ("migrations/versions", "*.py")):
        expected = {f"evidence/{p.relative_to(ROOT / 'evidence')}" for p in (ROOT / "evidence" / folder).glob(pattern)
                    if p.is_file() and "__pycache__" not in p.parts}
        assert expected and expected <= names, (folder, sorted(expected - names))
    for name in ("evidence/migrations/env.py", "evidence/migrations/script.py.mako", "evidence/py.typed", "evidence/cli.py"):
        assert name in names, name


def test_evidence_demo_from_the_installed_wheel_builds_a_site_in_an_empty_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run([str(python), "-c", "import evidence; print(evidence.__file__)"], cwd=empty)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel's copy, not the checkout's
    result = _run([str(venv / "bin" / "evidence"), "demo"], cwd=empty)
    assert result.returncode == 0, result.stdout + result.stderr
    site = empty / "evidence-demo" / "site"
    for page in ("index.html", "map.html", "method.html", "static/style.css", "downloads/catalogue.csv"):
        assert (site / page).is_file(), page
    assert len(list((site / "records").glob("*.html"))) > 1
    assert f"Site: {site / 'index.html'}" in result.stdout
    status = _run([str(venv / "bin" / "evidence"), "--db", "evidence-demo/catalogue.db", "status"], cwd=empty)
    assert status.returncode == 0 and "ok" in status.stdout
