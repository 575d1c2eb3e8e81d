"""The site built from a small fixture catalogue (tests/site_fixture.py) against a committed copy, file by file
(as Pelican's assertDirsEqual), with a diff shown on failure.

The build time stamp and the package version are normalised; the static files (copies of
evidence/templates/static) and the build state are not compared. After an intended change to the pages,
regenerate the copy and review its diff:

    PYTHONPATH=$PWD python3 tests/test_site_expected.py
"""
from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from site_fixture import TAXONOMY, make_catalogue  # noqa: E402

from evidence import __version__  # noqa: E402
from evidence.publish.build import STATE_FILE, build_site  # noqa: E402
from evidence.publish.cache import CACHE_DIR  # noqa: E402

EXPECTED = Path(__file__).parent / "expected_site"
BASE_URL = "https://example.org/evidence"
NOT_COMPARED = ("static/", STATE_FILE, CACHE_DIR + "/")
REGENERATE = "PYTHONPATH=$PWD python3 tests/test_site_expected.py"


def build_normalised(db: str, out: Path, work: Path) -> dict[str, bytes]:
    """Build the fixture site into `out` and return its compared files, normalised (path -> bytes)."""
    before = {k: os.environ.get(k) for k in ("EVIDENCE_TAXONOMY", "EVIDENCE_MODEL")}
    os.environ["EVIDENCE_TAXONOMY"] = str(TAXONOMY)
    os.environ["EVIDENCE_MODEL"] = str(work / "no-model.json")  # not the model of the day: the rules' own figures
    try:
        make_catalogue(db)
        build_site(db, out, BASE_URL, jobs=1)
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    stamp = json.loads((out / "downloads" / "catalogue.json").read_text(encoding="utf-8"))["meta"]["built_at"].encode()
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith(NOT_COMPARED):
            files[rel] = path.read_bytes().replace(stamp, b"BUILT_AT").replace(f"evidence {__version__}".encode(), b"evidence VERSION")
    return files


def expected_files() -> dict[str, bytes]:
    return {p.relative_to(EXPECTED).as_posix(): p.read_bytes() for p in sorted(EXPECTED.rglob("*")) if p.is_file()}


def _diff(rel: str, want: bytes, got: bytes) -> str:
    lines = difflib.unified_diff(want.decode("utf-8", "replace").splitlines(), got.decode("utf-8", "replace").splitlines(),
                                 f"expected/{rel}", f"built/{rel}", lineterm="", n=2)
    return "\n".join(list(lines)[:80])


def test_the_fixture_site_matches_the_committed_copy(catalogue_path, tmp_path):
    if not EXPECTED.is_dir():
        pytest.fail(f"{EXPECTED} is missing: make it with `{REGENERATE}`")
    built = build_normalised(catalogue_path, tmp_path / "site", tmp_path)
    want = expected_files()
    missing, extra = sorted(set(want) - set(built)), sorted(set(built) - set(want))
    assert not missing and not extra, f"files missing {missing[:10]}, unexpected {extra[:10]}; if intended, run `{REGENERATE}`"
    different = [rel for rel in want if want[rel] != built[rel]]
    assert not different, ("\n\n".join(_diff(rel, want[rel], built[rel]) for rel in different[:5])
                           + f"\n\n{len(different)} files differ ({', '.join(different[:10])}); if intended, run `{REGENERATE}`")


def test_the_comparison_fails_on_a_changed_page(catalogue_path, tmp_path):
    built = build_normalised(catalogue_path, tmp_path / "site", tmp_path)
    rel = "map/foster-care--mental-health.html"
    changed = built[rel].replace(b"Well supported", b"Supported", 1)
    lines = _diff(rel, built[rel], changed).splitlines()
    assert changed != built[rel] and lines[0] == f"--- expected/{rel}"  # the diff names the file and shows the line
    assert [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")] == [
        line[1:].replace("Supported", "Well supported", 1) for line in lines if line.startswith("+") and not line.startswith("+++")]


def regenerate() -> None:
    """Write tests/expected_site/ anew from the fixture catalogue."""
    with tempfile.TemporaryDirectory() as work:
        files = build_normalised(f"sqlite:///{work}/catalogue.db", Path(work) / "site", Path(work))
    if EXPECTED.exists():
        shutil.rmtree(EXPECTED)
    for rel, content in files.items():
        target = EXPECTED / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    print(f"wrote {len(files)} files into {EXPECTED}")


if __name__ == "__main__":
    regenerate()
