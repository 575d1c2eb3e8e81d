"""The classifier's fast matching finds exactly what the plain regular expressions find.

Speed work (bench/classify_bench.py) must not change a classification: each shortcut is checked here against
the regular expression it stands for, on texts built from the words the patterns look for (hypothesis).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.classify import _anchors_for
from evidence.classify import design as design_rules
from evidence.classify.taxonomy import KINDS, LiteralIndex, Phrases, alternatives, load_taxonomy, lowered, scan

TAXONOMY = load_taxonomy()
AUTOMATON = _anchors_for(TAXONOMY)
TERM_PATTERNS = [c for kind in KINDS for term in TAXONOMY.terms[kind].values() for c in term.strong + term.weak]
CUE_PATTERNS = [c for _, c, _ in design_rules._DESIGN_ORDER] + [c for c, _ in design_rules._COMPILED_NEWS] + \
    [c for _, c in design_rules._DIRECTION_ORDER]
PHRASES = {name: getattr(design_rules, name) for name in ("_OWN_PROTOCOL", "_REPORTS_RESULTS", "_EVALUATION", "_PEOPLE_STUDIED")}
CONTEXTS = {name: getattr(design_rules, name) for name in ("_NEGATORS", "_PLANNED", "_PLANNED_AFTER", "_WORKS_WITHIN", "_NEGATED_AFTER",
                                                           "_CITING", "_SELF", "_NOT_BEFORE_FINDING", "_AIM_BEFORE_FINDING")}

# the words the patterns are built from, and a few that are not, so that texts hold near misses as well as matches
WORDS = sorted({w for c in TERM_PATTERNS + CUE_PATTERNS for literal in c.literals for w in literal.split()} |
               set("this the our we will was were is are of in to a an for study trial protocol participants evaluation found "
                   "results show showed significantly associated recruiting under way currently investigators report presents "
                   "findings research project pilot enrolled recruited sample followed 120 young people children said not no "
                   "randomly allocated planned should guidance within".split()))
SEPARATORS = [" ", " ", " ", "", "-", "\n", ". ", ", ", "'s "]
texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=60).map(
    lambda parts: "".join(w + s for w, s in parts))
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def spans(matches):
    return [m.span() for m in matches]


@FAST
@given(texts)
def test_phrases_find_the_match_the_alternation_finds(text):
    low = lowered(text)
    for name, phrases in PHRASES.items():
        expected, found = phrases.regex.search(low), phrases.search(low)
        assert (found and found.span()) == (expected and expected.span()), (name, low)


def test_phrases_keep_the_earlier_alternative_at_one_position():
    phrases = Phrases(r"\b(?:the trial|the trial protocol|trial protocol)\b")
    assert phrases.search("a the trial protocol").span() == (2, 11)  # as re: the first alternative that matches here
    assert phrases.search("trial protocol, the trial").span() == (0, 14)  # the leftmost start wins over alternative order
    assert Phrases(r"\bwe will\b").search("awe will") is None  # \b is still read against the real text before the window
    # the window around the first " report " would cut the second match short: it is found whole from its own literal
    phrases = Phrases(r"\b(?:this|the) report (?:presents|sets out)(?: the findings of the review)?")
    text = "the report is short. this report presents the findings of the review"
    assert phrases.search(text).span() == phrases.regex.search(text).span() == (21, 68)


def test_a_pattern_starts_at_its_literal_only_when_nothing_before_it_takes_a_character():
    from evidence.classify.taxonomy import compiled_with_anchor

    leads = {p: compiled_with_anchor(re.compile(p)).before for p in (r"\brcts?\b", r"(?<!at )risks? of", r"a?bcd", r"(?:x|yy)abcd")}
    assert leads == {r"\brcts?\b": 0, r"(?<!at )risks? of": 0, r"a?bcd": 1, r"(?:x|yy)abcd": 2}


@FAST
@given(texts)
def test_patterns_led_by_their_literal_are_matched_where_it_occurs_as_finditer_finds(text):
    low = lowered(text)
    positions = AUTOMATON.positions(low)
    for compiled in TERM_PATTERNS + CUE_PATTERNS:
        if compiled.literals and compiled.before == 0:  # the paths that match at each occurrence of the literal
            assert spans(scan(compiled, low, positions)) == spans(compiled.pattern.finditer(low)), (compiled.pattern.pattern, low)


def test_context_patterns_read_other_text_as_written():
    # re.IGNORECASE reads the long s as an s; lower-casing does not turn it into one
    assert design_rules._NEGATORS.search("we ſhould") and design_rules._NEGATORS._cased.search("we ſhould")
    assert design_rules._SELF.search("in THIS study") and not design_rules._SELF.search("in thesis study")


@FAST
@given(texts, st.sampled_from(["", "ſ", "\u212a", "İ", "é", "Ç"]), st.integers(min_value=0, max_value=60))
def test_context_patterns_read_ascii_fast_and_other_text_as_written(text, odd, at):
    window = text[:at] + odd + text[at:] if odd else text
    for name, context in CONTEXTS.items():
        for part in (window, window.upper(), window.title()):
            assert context.search(part) == (context._cased.search(part) is not None), (name, part)


@FAST
@given(st.sets(st.sampled_from(sorted({lit for c in CUE_PATTERNS for lit in c.literals})), max_size=30))
def test_literal_index_tries_in_order_every_pattern_whose_literal_is_present(present):
    index = design_rules._DESIGN_INDEX
    expected = [i for i, (_, c, _) in enumerate(design_rules._DESIGN_ORDER) if not c.literals or any(lit in present for lit in c.literals)]
    assert index.active(present) == expected
    text = " ".join(sorted(present))  # the text itself instead of the set of literals: each literal looked for in it
    assert index.active(text) == [i for i, (_, c, _) in enumerate(design_rules._DESIGN_ORDER)
                                  if not c.literals or any(lit in text for lit in c.literals)]


def test_literal_index_always_tries_a_pattern_without_a_literal():
    from evidence.classify.taxonomy import compiled_with_anchor

    patterns = [compiled_with_anchor(re.compile(p)) for p in (r"\d+ %", r"young people", r"\w+ care")]
    assert [c.literals for c in patterns] == [(), ("young people",), (" care",)]
    assert LiteralIndex(patterns).active({" care"}) == [0, 2]
    assert LiteralIndex(patterns).active(set()) == [0]


def test_alternatives_split_only_the_top_level():
    assert alternatives(r"\b(?:a (?:b|c)|d)\b") == [r"\ba (?:b|c)\b", r"\bd\b"]
    assert alternatives(r"x[|)]y|(?:z)") == [r"x[|)]y", "(?:z)"]
    assert alternatives(r"\b(?:a)|(?:b)") == [r"\b(?:a)", "(?:b)"]  # the group is not the whole pattern: split at its top level
    assert alternatives(r"\(a|b\)") == [r"\(a", r"b\)"]


_STRONGEST = r"""
import json, sys
from evidence.classify import classify
print(json.dumps([classify(t).as_dict()["model"]["features"] for t in json.loads(sys.stdin.read())]))
"""


def test_the_strongest_features_do_not_depend_on_the_hash_seed():
    # the features of these texts include some of equal weight (before: their order varied from one process to another)
    texts = ["In this trial 240 young people were randomly allocated to mentoring or usual support.",
             "Mentoring trial\n\nYoung people were randomly\nallocated to men-\ntoring or usual support.",
             "Mentoring trial\n\nYoung people were randomly allocated to mentoring or usual support."]
    outputs = set()
    for seed in ("0", "1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", _STRONGEST], input=json.dumps(texts), capture_output=True, text=True, check=True,
                              cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)})
        outputs.add(done.stdout)
    assert len(outputs) == 1
