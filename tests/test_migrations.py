"""Schema migrations (Alembic, evidence/migrations): models.py and the revisions agree, a catalogue made before
migrations is upgraded with every row kept, a newer catalogue is refused, and new revisions are one command."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from conftest import FIXTURES, records
from sqlalchemy import text
from sqlmodel import SQLModel

from evidence import catalogue, migrations
from evidence.cli import cli

OLD_SCHEMA = FIXTURES / "catalogue-823b69f"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _execute(db: str, statements: list[tuple[str, dict]]) -> None:
    engine = catalogue.open_engine(db)
    try:
        with engine.begin() as conn:
            for sql, params in statements:
                conn.execute(text(sql), params)
    finally:
        engine.dispose()


def _scalar(db: str, sql: str):
    engine = catalogue.open_engine(db)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def old_catalogue(db: str) -> None:
    """A catalogue as evidence made it before migrations (commit 823b69f), with records, tags, a link and runs."""
    dialect = "sqlite" if catalogue.is_sqlite(db) else "postgresql"
    ddl = [s.strip() for s in (OLD_SCHEMA / f"{dialect}.sql").read_text(encoding="utf-8").split(";\n")]
    statements: list[tuple[str, dict]] = [("\n".join(line for line in s.splitlines() if not line.startswith("--")), {}) for s in ddl]
    statements = [s for s in statements if s[0].strip()]
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    for n, curated in ((1, False), (2, True), (3, False)):
        statements.append((
            "INSERT INTO record (id, url, url_key, title, title_key, publisher, authors, published, doc_type, summary, text, links, "
            "money, sample_size, project_ref, doi, covers, extra, source_id, first_seen, last_seen, content_hash, study_design, "
            "evidence_level, direction, confidence, classification, curated) VALUES (:id, :url, :key, :title, :tkey, 'Department for "
            "Education', :authors, '2017-02', 'research_report', :summary, 'full text', '[]', :money, 30, NULL, :doi, NULL, '{}', "
            "'dfe', :when, :when, :hash, 'qualitative', 1, 'positive', 0.7, :classification, :curated)",
            {"id": f"report-{n}-0000000{n}", "url": f"https://www.gov.uk/report-{n}", "key": f"gov.uk/report-{n}",
             "title": f"Report {n} on specialist foster care", "tkey": f"report {n} on specialist foster care",
             "authors": json.dumps(["A. Researcher"]), "summary": f"Interviews with 30 young people ({n}).",
             "money": json.dumps([{"amount": 1000 * n, "context": "annual cost"}]), "doi": f"10.1000/r{n}", "when": when,
             "hash": f"hash-{n}", "classification": json.dumps({"rationale_offsets": [], "scale_version": "1.0"}), "curated": curated}))
        statements.append(("INSERT INTO recordtag (record_id, kind, tag, confidence, direction, evidence, curated) "
                           "VALUES (:id, 'intervention', 'foster-care', 0.8, 'positive', :evidence, :curated)",
                           {"id": f"report-{n}-0000000{n}", "evidence": json.dumps([{"phrase": "specialist foster care", "start": 9,
                                                                                      "end": 31}]), "curated": curated}))
    statements.append(("INSERT INTO recordlink (record_id, url, title, source_id, relation, first_seen) VALUES "
                       "('report-1-00000001', 'https://www.communitycare.co.uk/news-1', 'News of report 1', 'press', 'covered_by', :when)",
                       {"when": when}))
    statements.append(("INSERT INTO harvestrun (source_id, started_at, finished_at, status, offline, fetched, new, updated, unchanged, "
                       "errors, message, item_errors) VALUES ('dfe', :when, :when, 'ok', false, 3, 3, 0, 0, 0, NULL, '[]')", {"when": when}))
    _execute(db, statements)


def test_the_revisions_build_exactly_the_tables_of_models_py(catalogue_path):
    """Upgrading an empty database through every revision gives what models.py declares (create_all + stamp, used for
    new catalogues, is then the same schema). A column added to models.py without a revision fails here: add one with
    `python3 -m evidence.migrations revision "what changed"`."""
    engine = catalogue.open_engine(catalogue_path)
    try:
        with engine.begin() as conn:
            assert migrations.current(conn) is None
            migrations.upgrade(conn)
        with engine.connect() as conn:
            assert migrations.current(conn) == migrations.head()
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_new_catalogue_is_stamped_at_head(catalogue_path):
    catalogue.connect(catalogue_path, create=True).dispose()
    assert _scalar(catalogue_path, "SELECT version_num FROM alembic_version") == migrations.head()


def test_the_revision_catalogues_are_opened_at_without_alembic_is_alembics_head(catalogue_path):
    """`catalogue.SCHEMA_REVISION` (checked on every open without loading Alembic) is the newest revision script: a new
    revision that forgets to move it fails here. A catalogue stamped with another revision still takes the full check."""
    assert catalogue.SCHEMA_REVISION == migrations.head()
    catalogue.connect(catalogue_path, create=True).dispose()
    _execute(catalogue_path, [("UPDATE alembic_version SET version_num = '9999'", {})])
    with pytest.raises(catalogue.CatalogueError, match="9999"):
        catalogue.connect(catalogue_path, create=False)


def test_a_catalogue_made_before_migrations_is_upgraded_with_no_data_lost(catalogue_path, tmp_path):
    old_catalogue(catalogue_path)
    before = {(r["id"], r["title"], r["summary"], r["content_hash"], r["doi"]) for r in _rows(catalogue_path)}
    assert len(before) == 3
    if catalogue.is_sqlite(catalogue_path):
        # a SQLite catalogue is upgraded by the first command that opens it (one user's file, one transaction)
        status = invoke("--db", catalogue_path, "status", "--config", str(tmp_path / "none.yaml"))
        assert status.exit_code == 0, status.output
    else:
        # a team's server database only on purpose: every command says what to run, in one line, and changes nothing
        status = invoke("--db", catalogue_path, "status", "--config", str(tmp_path / "none.yaml"))
        assert status.exit_code == 2 and len(status.output.strip().splitlines()) == 1
        assert "schema revision 0001 (made before migrations)" in status.output and "migrate`" in status.output
        assert _scalar(catalogue_path, "SELECT count(*) FROM record") == 3
        migrated = invoke("--db", catalogue_path, "migrate")
        assert migrated.exit_code == 0 and f"from schema 0001 to {migrations.head()}" in migrated.output, migrated.output
    assert _scalar(catalogue_path, "SELECT version_num FROM alembic_version") == migrations.head()
    assert {(r["id"], r["title"], r["summary"], r["content_hash"], r["doi"]) for r in _rows(catalogue_path)} == before
    stored = {r.id: r for r in records(catalogue_path)}
    assert {rid: (r.needs_review, r.inclusion, r.machine, r.money, r.authors) for rid, r in stored.items()} == {
        f"report-{n}-0000000{n}": (n != 2, None, {}, [{"amount": 1000 * n, "context": "annual cost"}], ["A. Researcher"]) for n in (1, 2, 3)}
    assert _scalar(catalogue_path, "SELECT count(*) FROM recordtag") == 3
    # (revision 0004 moved the link into the places: each record's own URL, and the news that covered report 1)
    assert _scalar(catalogue_path, "SELECT count(*) FROM recordplace") == 4
    assert _scalar(catalogue_path, "SELECT count(*) FROM recordplace WHERE relation = 'covered_by' AND record_id = 'report-1-00000001'") == 1
    assert _scalar(catalogue_path, "SELECT count(*) FROM harvestrun") == 1
    again = invoke("--db", catalogue_path, "migrate")
    assert again.exit_code == 0 and "already" in again.output
    site = invoke("--db", catalogue_path, "build", "--out", str(tmp_path / "site"), "--no-search")
    assert site.exit_code == 0, site.output
    assert "specialist foster care" in (tmp_path / "site" / "records" / "report-1-00000001.html").read_text(encoding="utf-8")


def _rows(db: str) -> list[dict]:
    engine = catalogue.open_engine(db)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM record ORDER BY id")).all()]
    finally:
        engine.dispose()


def test_a_catalogue_from_a_newer_evidence_is_refused(catalogue_path, tmp_path):
    catalogue.connect(catalogue_path, create=True).dispose()
    _execute(catalogue_path, [("UPDATE alembic_version SET version_num = '9999'", {})])
    for command in (["status", "--config", str(tmp_path / "none.yaml")], ["migrate"]):
        result = invoke("--db", catalogue_path, *command)
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
        assert "schema revision 9999, made by a newer version of evidence" in result.output and "upgrade evidence" in result.output


def test_a_new_revision_is_one_command_and_finds_nothing_when_models_py_is_unchanged(tmp_path, monkeypatch):
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "SCRIPTS", scripts)
    migrations.scripts.cache_clear()
    try:
        from evidence.migrations.__main__ import main

        assert main(["revision", "nothing changed"]) == 0
        written = sorted((scripts / "versions").glob("r*.py"))[-1]
        migrations.scripts.cache_clear()
        number = int(migrations.head())
    finally:
        migrations.scripts.cache_clear()
    assert written.name == f"r{number:04d}_nothing_changed.py" and number == len(list((scripts / "versions").glob("r*.py")))
    body = written.read_text(encoding="utf-8")
    assert f"down_revision: str | None = '{number - 1:04d}'" in body
    assert "def upgrade() -> None:\n    pass" in body.replace("# ### commands auto generated by Alembic - please adjust! ###\n    ", "")


@pytest.mark.parametrize("url, expected", [
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"), ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"), ("sqlite:///c.db", "sqlite:///c.db"),
    ("team/c.db", "sqlite:///team/c.db"),
])
def test_postgresql_urls_select_psycopg_3(url, expected):
    assert catalogue.database_url(url) == expected


REBUILD = '''"""rebuild the record table (what batch mode does on SQLite for most alterations){extra}"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("record", recreate="always") as batch_op:
        batch_op.alter_column("covers", existing_type=sa.String(), type_=sa.Text())
    {last}


def downgrade() -> None:
    pass
'''


@pytest.mark.parametrize("fails", [False, True])
def test_an_sqlite_upgrade_that_rebuilds_tables_keeps_every_row_or_changes_nothing(tmp_path, monkeypatch, fails):
    db = str(tmp_path / "catalogue.db")
    old_catalogue(db)
    catalogue.connect(db, create=False).dispose()  # at the head now
    before = _rows(db)
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations.SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    last = 'op.execute("SELECT * FROM no_such_table")' if fails else "pass"
    head = migrations.head()
    revision = f"{int(head) + 1:04d}"
    (scripts / "versions" / f"r{revision}_rebuild.py").write_text(REBUILD.format(extra=", then fail" if fails else "", last=last,
                                                                                 revision=revision, down=head))
    monkeypatch.setattr(migrations, "SCRIPTS", scripts)
    monkeypatch.setattr(catalogue, "SCHEMA_REVISION", revision)  # a version of evidence whose newest revision is this one
    migrations.scripts.cache_clear()
    try:
        result = invoke("--db", db, "review", "--format", "json")
    finally:
        migrations.scripts.cache_clear()
    if fails:
        assert result.exit_code == 2 and "no such table: no_such_table" in result.output
        assert _scalar(db, "SELECT version_num FROM alembic_version") == head
        assert _scalar(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '_alembic_tmp%'") == 0
        assert "covers VARCHAR" in _scalar(db, "SELECT sql FROM sqlite_master WHERE name = 'record'")  # the rebuild rolled back
    else:
        assert result.exit_code == 0, result.output
        assert _scalar(db, "SELECT version_num FROM alembic_version") == revision
        assert "covers TEXT" in _scalar(db, "SELECT sql FROM sqlite_master WHERE name = 'record'")
    assert _rows(db) == before
    assert _scalar(db, "SELECT count(*) FROM recordtag") == 3 and _scalar(db, "SELECT count(*) FROM recordplace") == 4
