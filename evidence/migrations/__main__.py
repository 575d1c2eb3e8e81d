"""`python3 -m evidence.migrations revision "message"`: add a schema revision after changing evidence/models.py.

Autogenerates the revision against a fresh SQLite catalogue upgraded to the current head, so the new file holds
exactly what models.py adds. Read it before committing: a new NOT NULL column needs a server default for the
rows already stored, and a data change has to be written by hand.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from evidence.migrations import new_revision


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and write the revision; the exit code."""
    parser = argparse.ArgumentParser(prog="python3 -m evidence.migrations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    revision = sub.add_parser("revision", help="autogenerate a new revision from the changes to evidence/models.py")
    revision.add_argument("message", help="what the revision changes, e.g. 'record: screening columns'")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        script = new_revision(args.message, f"sqlite:///{Path(tmp) / 'head.db'}")
    if script is None:
        print("no revision written", file=sys.stderr)
        return 1
    print(f"wrote {script.path}: read it, then run the tests (tests/test_migrations.py checks it against models.py)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
