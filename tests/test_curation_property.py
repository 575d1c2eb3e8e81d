"""Curation survives everything (issue 5, point 6; issue 15): a property test runs harvests, curations,
screening decisions and their reversals, re-harvests with changed content, reclassifications and taxonomy
edits in random orders, then checks that every correction and decision a curator made still applies.
The run's files live under pytest's tmp_path; HYPOTHESIS_PROFILE=ci makes the examples derandomized."""
from __future__ import annotations

import tempfile
from pathlib import Path

from click.testing import CliRunner
from conftest import records, write_sources
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from evidence import catalogue
from evidence.classify.taxonomy import TAXONOMY_PATH
from evidence.cli import cli
from evidence.models import RecordTag

VERSIONS = {
    "a": ["A randomised controlled trial of specialist foster care for young people at risk of exploitation found fewer missing episodes.",
          "Interviews with staff in residential children's homes about keeping young people safe.",
          "Statutory guidance on multi-agency working and return home interviews.",
          "News: a charity calls for more mentoring for care leavers."],
    "b": ["A systematic review of therapeutic support reported no significant difference in mental health outcomes.",
          "A before-and-after study of outreach youth work measured school attendance.",
          "A cohort study of family support and placement stability, with reduced offending.",
          "Qualitative case files on risk assessment tools used by social workers."],
}
CORRECTIONS = [
    ("--set", "study_design=qualitative"), ("--set", "direction=mixed"), ("--add", "intervention=foster-care"),
    ("--add", "outcome=engagement-voice"), ("--remove", "intervention=multi-agency"), ("--remove", "outcome=mental-health"),
    ("--add", "population=boys-young-men"),
]
operations = st.lists(st.one_of(
    st.just(("harvest",)), st.just(("change",)), st.just(("reclassify",)), st.just(("taxonomy",)),
    st.tuples(st.just("curate"), st.integers(0, 3), st.integers(0, len(CORRECTIONS) - 1)),
    st.tuples(st.just("screen"), st.integers(0, 3), st.sampled_from(["include", "exclude"])),
    st.tuples(st.just("unscreen"), st.integers(0, 3)),
), min_size=3, max_size=9)


def feed(server, version: str) -> None:
    items = "".join(f"<item><title>Report {n}</title><link>{server.base}/r/{n}</link><description>{text}</description></item>"
                    for n, text in enumerate(VERSIONS[version]))
    server.add("/curation-feed.xml", f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>{items}</channel></rss>",
               content_type="application/rss+xml")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations)
def test_every_correction_survives_any_order_of_harvests_reclassifications_and_taxonomy_edits(server, tmp_path, steps):
    runner = CliRunner()
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:  # one folder per example, inside the test's own
        root = Path(folder)
        db, taxonomy = str(root / "c.db"), root / "taxonomy.yaml"
        taxonomy.write_text(TAXONOMY_PATH.read_text(encoding="utf-8"), encoding="utf-8")
        config = write_sources(root, [{"id": "cur", "kind": "feed", "url": server.url("/curation-feed.xml"), "detail": False}])
        env = {"EVIDENCE_CURATION": str(root / "curation.yaml"), "EVIDENCE_CAPTURES": str(root / "captures"),
               "EVIDENCE_TAXONOMY": str(taxonomy)}

        def invoke(*args: str, code: int = 0) -> None:
            result = runner.invoke(cli, ["--db", db, "--taxonomy", str(taxonomy), *args], env=env, catch_exceptions=False)
            assert result.exit_code == code, (args, result.output)

        version, edits = "a", 0
        expected: dict[str, dict[str, object]] = {}  # url -> what the curator asked for, last word wins
        decided: dict[str, str | None] = {}  # url -> the curator's screening decision (None: reversed)
        feed(server, version)
        invoke("harvest", "--config", str(config), "--quiet")
        for step in steps:
            if step[0] == "harvest":
                invoke("harvest", "--config", str(config), "--quiet")
            elif step[0] == "change":
                version = "b" if version == "a" else "a"
                feed(server, version)
                invoke("harvest", "--config", str(config), "--quiet")
            elif step[0] == "reclassify":
                invoke("reclassify")
            elif step[0] == "taxonomy":  # a maintainer extends the taxonomy: a new synonym and a new term
                edits += 1
                text = taxonomy.read_text(encoding="utf-8").replace(
                    'patterns: ["outreach"', f'patterns: ["street work {edits}", "outreach"', 1)
                text = text.replace("\noutcomes:\n", f"\n  peer-support-{edits}:\n    label: Peer support {edits}\n"
                                    f"    patterns: [\"peer support\", \"care leavers\"]\noutcomes:\n", 1)
                taxonomy.write_text(text, encoding="utf-8")
                invoke("reclassify")
            elif step[0] == "screen":
                record = sorted(records(db), key=lambda r: r.url)[step[1]]
                reason = ["--reason", "outside the scope"] if step[2] == "exclude" else []
                invoke("screen", f"--{step[2]}", record.id, *reason, "--by", "tester")
                decided[record.url] = step[2]
            elif step[0] == "unscreen":  # a reversal: the rules' verdict applies again
                record = sorted(records(db), key=lambda r: r.url)[step[1]]
                invoke("curate", record.id, "--unset", "inclusion", "--by", "tester", code=0 if decided.get(record.url) else 2)
                decided[record.url] = None
            else:
                _, index, which = step
                record = sorted(records(db), key=lambda r: r.url)[index]
                flag, value = CORRECTIONS[which]
                invoke("curate", record.id, flag, value, "--by", "tester")
                field, _, tag = value.partition("=")
                want = expected.setdefault(record.url, {"set": {}, "add": set(), "remove": set()})
                if flag == "--set":
                    want["set"][field] = tag  # type: ignore[index]
                elif flag == "--add":
                    want["add"].add((field, tag)); want["remove"].discard((field, tag))  # type: ignore[union-attr]  # noqa: E702
                else:
                    want["remove"].add((field, tag)); want["add"].discard((field, tag))  # type: ignore[union-attr]  # noqa: E702
        invoke("harvest", "--config", str(config), "--quiet")
        by_url = {r.url: r for r in records(db)}
        for url, decision in decided.items():
            record = by_url[url]
            rules = record.classification["screening"]["rules"]["decision"]
            assert record.inclusion == {"include": "included", "exclude": "excluded", None: rules}[decision], (url, decision, steps)
        engine = catalogue.connect(db)
        try:
            with Session(engine) as session:
                for url, want in expected.items():
                    record = by_url[url]
                    assert record.curated, url
                    for field, value in want["set"].items():  # type: ignore[union-attr]
                        assert getattr(record, field) == value, (url, field, steps)
                    tags = {(t.kind, t.tag) for t in session.exec(select(RecordTag).where(RecordTag.record_id == record.id)).all()}
                    assert want["add"] <= tags, (url, want, tags, steps)
                    assert not (want["remove"] & tags), (url, want, tags, steps)
        finally:
            engine.dispose()
