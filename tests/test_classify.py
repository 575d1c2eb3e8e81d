"""The classifier reads context, not keywords alone (the rules the issue names), and says why.

These are short texts written for the rule each one checks; the real texts (seeds, UK publications,
PubMed, ClinicalTrials.gov) are measured in test_seeds.py and test_labelled.py.
"""
from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

from evidence.classify import classify
from evidence.classify.design import EVIDENCE_LEVELS
from evidence.classify.taxonomy import load_taxonomy
from evidence.extract import find_money
from evidence.publish.evidence_map import Finding, MapRecord, evidence_map
from evidence.publish.ratings import RULES, rate_all

ISSUE_IDS = {
    "interventions": {"secure-accommodation", "residential-care", "foster-care", "family-support", "family-therapy", "therapeutic",
                      "relationship-based", "outreach", "education-prevention", "multi-agency", "risk-assessment", "missing-response",
                      "education-support", "substance-misuse", "transitions", "out-of-hours", "contextual-safeguarding",
                      "workforce-training"},
    "outcomes": {"cse-risk", "protective-factors", "mental-health", "placement-stability", "education", "family-relationships",
                 "service-use-cost", "substance-use", "offending", "engagement-voice"},
    "populations": {"at-risk", "experienced-cse", "looked-after", "care-leavers", "parents-carers", "professionals", "boys-young-men"},
}
# "improvement" here names a programme; nothing in the text is a finding
A_NAME_NOT_A_FINDING = ("Evaluation of sector-led improvement\n\nData analysis report, May 2018. This report forms part of the "
                        "association's programme.")


def test_the_taxonomy_has_every_id_the_field_uses():
    taxonomy = load_taxonomy()
    for kind, ids in ISSUE_IDS.items():
        assert ids <= set(taxonomy.ids(kind)), (kind, ids - set(taxonomy.ids(kind)))


def test_a_trial_that_was_never_done_is_not_a_trial_and_the_phrase_is_set_aside():
    text = ("Specialist foster care for young people at risk of sexual exploitation: a review of practice. "
            "No randomised trials have been conducted, and future randomised controlled trials should compare placements.")
    result = classify(text)
    assert result.study_design != "rct"
    assert any(c["for"] == "rct" and "negated" in c["note"] for c in result.set_aside)


def test_news_about_a_trial_is_news_and_records_what_it_covers():
    text = ("Councils hail foster care trial results\n\nA randomised controlled trial of specialist foster care has found fewer "
            "missing episodes, the report said. The charity's director told CYP Now the findings were encouraging, according to "
            "the report published today.")
    result = classify(text)
    assert (result.study_design, result.evidence_level, result.covers_design) == ("commentary_or_news", None, "rct")


@pytest.mark.parametrize("text, direction", [
    ("An evaluation of educative risk work with 120 young people used standardised measures before and after. "
     "The educative sessions did not have a positive impact on risk.", "no_effect"),
    ("A cohort study of 300 young people in secure accommodation. Secure placements were associated with negative outcomes "
     "for mental health.", "negative"),
    ("'Lack of evidence' on care home support\n\nThe research team said the evidence to confirm this was generally lacking, "
     "the report found, according to CYP Now.", "unclear"),
    ("A before-and-after evaluation with standardised measures of 40 young people in a mentoring service. There was some "
     "evidence of positive change in well-being; results on standardised measures were more equivocal.", "mixed"),
    ("A before-and-after study of 40 young people in a mentoring service found significant improvements in school attendance.",
     "positive"),
])
def test_direction_reads_the_finding_not_the_words(text, direction):
    assert classify(text).direction == direction


def test_a_finding_tied_to_one_intervention_gives_that_intervention_its_direction():
    text = ("An evaluation of 60 young people using standardised measures before and after support. Relationship-based work "
            "with a trusted adult was associated with significant improvements in well-being. The educative sessions did not "
            "have a positive impact on risk.")
    tags = {t.id: t for t in classify(text).interventions}
    assert tags["relationship-based"].direction == "positive"
    assert tags["education-prevention"].direction == "no_effect"
    assert any("did not have a positive impact" in e["phrase"] for e in tags["education-prevention"].direction_evidence)


@pytest.mark.parametrize("text, design", [
    # how trials are reported when they never write "randomised"
    ("Mentoring for care leavers\n\nYoung people were assigned in a 1:1 ratio to mentoring or usual support; analysis was by "
     "intention to treat.", "rct"),
    # six p-values do not outvote one statement of random allocation
    ("Young people were randomly allocated to one of two groups. Missing episodes fell (p < 0.01), attendance rose (p < 0.01), "
     "offending fell (p < 0.01), self-harm fell (p < 0.01), placement moves fell (p < 0.01), arrests fell (p < 0.01).", "rct"),
    # a research programme's "Phase 3" is not a phase 3 trial
    ("ADCS Safeguarding Pressures Phase 3\n\nAll local authorities who participated in this research provided responses.",
     "pre_post_or_observational"),
    (A_NAME_NOT_A_FINDING, "pre_post_or_observational"),
    ("Matching in foster care\n\nThis report sets out our findings from a small research project that explored what contributes "
     "to good matching decisions.", "qualitative"),
    ("Alternatives to secure accommodation\n\nWe analysed 10 case files using qualitative analysis.", "qualitative"),
    ("A systematic review and meta-analysis of 14 studies of parenting programmes; studies met inclusion criteria if they "
     "reported outcomes for children in care.", "systematic_review"),
    ("Keeping children safe in education: statutory guidance for schools and colleges on what staff should know and do.",
     "guidance"),
])
def test_design_reads_how_the_study_was_done(text, design):
    result = classify(text)
    assert result.study_design == design
    assert result.evidence_level == EVIDENCE_LEVELS[design]


def test_a_study_of_its_own_that_names_no_design_is_observational_at_low_confidence_and_says_so():
    text = ("Busulfan instead of irradiation\n\nLong-term follow-up has shown late toxicities. This plan will use a combination "
            "of two agents to reduce late toxicities in children.")
    result = classify(text, learned=False)  # the rules' own confidence (the learned layer calibrates it: test_learned.py)
    assert result.study_design == "pre_post_or_observational" and result.confidence <= 0.3
    assert "no design or comparison group named" in result.rationale[0]["note"]


def test_a_word_in_a_name_is_not_a_finding():
    result = classify(A_NAME_NOT_A_FINDING)
    assert result.direction == "not_applicable"


def test_family_hubs_and_early_help_are_family_support():
    result = classify("Family hubs and early help: an overview\n\nThis module is part of the background information for local areas.")
    assert "family-support" in {t.id for t in result.interventions}


@pytest.mark.parametrize("title, body, term", [
    ("Spring Budget 2024: on-the-day briefing", "Spring Budget 2024. This briefing summarises the announcements.", "service-use-cost"),
    ("Evaluation of virtual school heads' duties", "Final report. Authors and glossary.", "education"),
    ("Keeping children safe in education", "Keeping children safe in education. Statutory guidance for schools.", "education"),
])
def test_an_outcome_word_that_names_the_setting_in_a_title_is_not_an_outcome(title, body, term):
    assert term not in {t.id for t in classify(body, title=title).outcomes}


def test_an_outcome_word_in_a_title_borne_out_by_another_phrase_still_counts():
    borne_out = classify("Attendance at school rose over the year.", title="School")
    assert "education" in {t.id for t in borne_out.outcomes}
    # the same word again (a report's cover repeats its title) is not another phrase
    repeated = classify("School. School report.", title="School")
    assert "education" not in {t.id for t in repeated.outcomes}


def test_an_intervention_named_in_a_title_is_what_the_record_is_about():
    result = classify("Annual report.", title="Therapeutic approaches for young people")
    assert "therapeutic" in {t.id for t in result.interventions}


def test_every_why_is_the_text_at_its_offsets():
    text = ("Specialist foster carers supported 30 young people at risk of sexual exploitation. A before-and-after evaluation "
            "found fewer missing episodes and improved school attendance, and the project reported potential annual benefits "
            "of £250,000.")
    result = classify(text, title="Specialist foster care evaluation")
    body = "Specialist foster care evaluation\n\n" + text
    tags = [*result.interventions, *result.outcomes, *result.populations]
    assert tags and all(body[e["start"]:e["end"]] == e["phrase"] for t in tags for e in t.evidence)
    assert all(body[r["start"]:r["end"]] == r["phrase"] for r in result.rationale)
    assert result.sample_size == 30
    assert result.money[0]["amount"] == 250000 and "potential annual benefits" in result.money[0]["context"]


@pytest.mark.parametrize("text, context", [
    ("one project reported potential annual benefits of over £1.6m.", "potential annual benefits"),
    ("The service could bring £1.6 million in potential annual benefits.", "potential annual benefits"),
    ("The council received £300,000 for the pilot programme, it said.", "the pilot programme"),
    ("£5m of new funding.", "new funding"),
    ("It cost £2m in 2020.", "It cost"),
])
def test_money_says_what_the_figure_is(text, context):
    assert find_money(text)[0]["context"] == context


def test_a_maintainer_extends_the_taxonomy_without_touching_code(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    shutil.copy(ROOT / "evidence" / "classify" / "taxonomy.yaml", path)
    text = path.read_text(encoding="utf-8").replace(
        "\noutcomes:\n",
        "\n  online-safety:\n    label: Online safety work\n    description: Work on online grooming and image sharing.\n"
        "    patterns: [\"online safety\", \"online grooming\"]\n\noutcomes:\n", 1)
    path.write_text(text.replace('version: "', 'version: "local-', 1), encoding="utf-8")
    result = classify("A school-based online safety programme for 200 pupils.", taxonomy_path=path)
    assert "online-safety" in {t.id for t in result.interventions}
    assert result.taxonomy_version.startswith("local-")
    assert "online-safety" not in {t.id for t in classify("A school-based online safety programme for 200 pupils.").interventions}


def _record(id_, level, direction, intervention="foster-care", outcome="cse-risk"):
    """A record stating one intervention-outcome pair (the map counts pairs, not crossed tags)."""
    design = next((d for d, lvl in EVIDENCE_LEVELS.items() if lvl == level), "unclear")
    return MapRecord(id=id_, title=id_, level=level, design=design, direction=direction, interventions={intervention: None},
                     outcomes={outcome}, populations=set(), publisher=None, year=None, doc_type=None, inclusion="included",
                     pairs=[Finding(intervention, outcome, direction, 0.8, "a sentence linking them", "sentence")])


@pytest.mark.parametrize("records, rating, flagged", [
    ([_record("review", 5, "positive")], "well_supported", False),
    ([_record("t1", 4, "positive"), _record("t2", 4, "positive")], "well_supported", False),
    ([_record("t1", 4, "positive")], "supported", False),
    ([_record("q", 3, "positive"), _record("c", 2, "no_effect")], "promising", True),
    ([_record("pp", 2, "positive")], "insufficient", False),
    ([_record("g", 0, "not_applicable"), _record("i", 1, "not_applicable")], "insufficient", False),
    ([_record("neg", 2, "negative")], "insufficient", True),
    ([_record("news", None, "unclear")], "no_evidence", False),  # news is context: never evidence
])
def test_the_commissioners_rating_follows_its_written_rule(records, rating, flagged):
    cells = evidence_map(records, ["foster-care"], ["cse-risk"])
    result = rate_all(cells, ["foster-care"])["foster-care"]
    assert (result.id, result.flag) == (rating, flagged)
    assert result.rule == RULES[rating]  # the rule shown is the written rule of that rating, naming the level it needs
    assert {"well_supported": "level 4", "supported": "level 4", "promising": "level 3", "insufficient": "fall short",
            "no_evidence": "no study"}[rating] in result.rule


def test_gaps_are_absolute_where_nothing_is_known_and_synthesis_where_no_review_exists():
    cells = evidence_map([_record("t1", 4, "positive"), _record("r", 5, "positive", outcome="education"),
                          _record("p", 2, "positive", outcome="education")], ["foster-care"], ["cse-risk", "education", "offending"])
    assert cells[("foster-care", "cse-risk")].gap == "synthesis"
    assert cells[("foster-care", "education")].gap is None
    assert cells[("foster-care", "offending")].gap == "absolute"


# -- intervention-outcome pairs (the evidence map's cells) ------------------------------------------

PAIR_KEYS = {"intervention", "outcome", "direction", "confidence", "phrase", "start", "end", "basis"}


def _pairs(result):
    return {(p["intervention"], p["outcome"]): p for p in result.as_dict()["pairs"]}


def test_a_pair_is_made_where_one_sentence_links_them_and_carries_that_sentences_direction():
    text = ("An evaluation of 60 young people using standardised measures before and after support. Relationship-based work "
            "with a trusted adult was associated with significant improvements in well-being. The educative sessions did not "
            "have a positive impact on the risk of sexual exploitation.")
    result = classify(text)
    pairs = _pairs(result)
    assert set(pairs) == {("relationship-based", "mental-health"), ("education-prevention", "cse-risk")}
    assert pairs[("relationship-based", "mental-health")]["direction"] == "positive"
    assert pairs[("education-prevention", "cse-risk")]["direction"] == "no_effect"
    for pair in pairs.values():
        assert set(pair) == PAIR_KEYS and pair["basis"] == "sentence" and 0 < pair["confidence"] <= 1
        assert text[pair["start"]:pair["end"]] == pair["phrase"]


def test_a_study_of_one_intervention_pairs_it_with_each_outcome_it_measures_but_gives_no_borrowed_direction():
    result = classify("A before-and-after study of 40 young people in a mentoring service found significant improvements in "
                      "school attendance. Mental health was also measured.")
    pairs = _pairs(result)
    assert pairs[("relationship-based", "education")]["direction"] == "positive"
    assert pairs[("relationship-based", "mental-health")]["basis"] == "single_intervention"
    assert pairs[("relationship-based", "mental-health")]["direction"] == "unclear"  # the finding was about attendance


def test_two_interventions_and_two_outcomes_named_apart_make_no_pairs():
    text = ("A before-and-after evaluation of 90 young people. Foster care placements were reviewed at entry. Offending fell "
            "over the year. Youth work sessions ran weekly. Mental health improved for most.")
    result = classify(text)
    assert {"foster-care", "outreach"} <= {t.id for t in result.interventions}
    assert {"offending", "mental-health"} <= {t.id for t in result.outcomes}
    assert not result.pairs  # no sentence, section or single intervention links them


def test_guidance_reporting_no_finding_has_no_outcomes_and_no_pairs():
    # CONVENTIONS.md sections 4 and 6: the subject of guidance is not a measured outcome
    result = classify("Statutory guidance on foster care and placement stability: foster carers should plan for placement moves.")
    assert result.study_design == "guidance"
    assert "foster-care" in {t.id for t in result.interventions}
    assert not result.outcomes and not result.pairs


def test_news_reporting_a_finding_keeps_that_outcome_and_its_pair():
    result = classify("Mentoring cuts missing episodes, charity says\n\nA mentoring scheme reduced missing episodes among 40 "
                      "young people, the charity said, according to its report published today.")
    assert result.study_design == "commentary_or_news"
    assert ("relationship-based", "cse-risk", "positive") in {(p.intervention, p.outcome, p.direction) for p in result.pairs}


# -- issue 13: the kinds of error seen on unseen documents, each on a text written for it -----------

@pytest.mark.parametrize("text, design", [
    # an evaluation or project that names no method claims to be evidence: unclear, not guidance
    ("Evaluation of the Hub\n\nThis evaluation of the Hub found that young people felt safer and more confident.", "unclear"),
    ("Our project in three boroughs\n\nThe project explored how schools and youth workers respond to exploitation.", "unclear"),
    # comparison designs that never say "comparison group" or "control group"
    ("Outcomes in the five pilot areas were compared with five similar local authorities over two years.", "quasi_experimental"),
    ("Missing episodes were compared between areas with and without the service, regression-adjusted for deprivation.",
     "quasi_experimental"),
    ("We matched sites on deprivation and caseload before the service began.", "quasi_experimental"),
    # before/after figures an evaluation reports
    ("An evaluation of the missing service: missing episodes fell from 40% to 15% in the year after referral.",
     "pre_post_or_observational"),
    ("Scores were recorded at referral and at case closure for every young person supported.", "pre_post_or_observational"),
    # a percentage change, however many digits lead it (the cue's match starts before its literal)
    ("An evaluation of a mentoring service. After six months there was a 10% reduction in missing episodes among the 40 "
     "young people supported.", "pre_post_or_observational"),
])
def test_designs_read_from_what_the_text_describes(text, design):
    result = classify(text)
    assert result.study_design == design, result.rationale


def test_the_guidance_a_service_works_within_is_not_the_documents_genre():
    text = ("Evaluation of a missing service\n\nThe service works within the statutory guidance on children who run away or go "
            "missing from home or care, in line with local guidance. Missing episodes fell from 30 to 12 in the year.")
    result = classify(text)
    assert result.study_design == "pre_post_or_observational"
    assert any("works within" in c.get("note", "") for c in result.set_aside)


def test_news_of_a_trial_that_will_run_is_news_and_ongoing_not_a_trial():
    text = ("Councils to trial mentoring for children at risk\n\nA trial will test whether mentoring reduces placement breakdown. "
            "Young people will be randomly allocated to mentoring or usual support, the charity said.")
    result = classify(text)
    assert result.study_design == "commentary_or_news" and result.evidence_level is None
    assert result.ongoing and result.covers_design == "rct"
    assert result.direction == "not_applicable"


def test_a_protocol_without_results_is_an_ongoing_trial_off_the_scale():
    text = ("Mentoring for care leavers: protocol for a randomised controlled trial\n\nThis trial will recruit 240 young people, "
            "who will be randomly allocated to mentoring or usual support. The primary outcome is placement stability.")
    result = classify(text)
    assert (result.study_design, result.evidence_level, result.ongoing) == ("rct", None, True)
    assert result.direction == "not_applicable" and result.sample_size == 240


@pytest.mark.parametrize("text, absent", [
    ("A cohort study of 300 young people: the odds ratio was 1.4 (95% confidence interval 1.1 to 1.8).",
     {"outcomes": "protective-factors"}),
    ("An analysis of police records for 200 children who went missing.", {"interventions": "multi-agency"}),
    ("Return home interviews were offered to every child reported missing.", {"outcomes": "family-relationships"}),
    ("Guidance on child sexual exploitation for schools: what CSE is and who to tell.", {"outcomes": "cse-risk"}),
])
def test_data_sources_service_names_statistics_and_topics_are_not_outcomes_or_methods(text, absent):
    result = classify(text)
    (kind, term), = absent.items()
    assert term not in {t.id for t in result.tags(kind)}


def test_a_return_home_interview_is_not_a_qualitative_method():
    result = classify("Return home interviews were offered to every child reported missing; 60% accepted one.")
    assert result.study_design != "qualitative"
    assert "missing-response" in {t.id for t in result.interventions}


def test_risk_of_exploitation_measured_as_a_finding_is_the_outcome():
    result = classify("A before-and-after evaluation of 50 young people: missing episodes fell and the risk of exploitation was "
                      "lower at closure.")
    assert "cse-risk" in {t.id for t in result.outcomes}


@pytest.mark.parametrize("text, direction", [
    # a significant primary outcome with null secondaries is mixed, not no effect
    ("A randomised controlled trial of 200 young people. The primary outcome, missing episodes, was significantly lower in the "
     "mentoring group. There were no significant differences in secondary outcomes.", "mixed"),
    # hedged findings keep their direction
    ("An evaluation of 30 young people before and after support: the service may have reduced missing episodes.", "positive"),
    ("A before-and-after study of 40 families: family group conferences appeared to improve family relationships.", "positive"),
    # negated findings are read with their negation
    ("A before-and-after evaluation of 80 pupils: the programme did not significantly improve school attendance.", "no_effect"),
    ("A cohort study of 120 young people found no evidence that mentoring reduced offending.", "no_effect"),
    # an aim is not a finding
    ("A before-and-after evaluation protocol: the service aims to reduce missing episodes.", "not_applicable"),
])
def test_direction_reads_hedges_negations_and_primary_outcomes(text, direction):
    assert classify(text).direction == direction


def test_the_text_format_says_why_a_direction_was_chosen(tmp_path):
    from evidence.classify.files import classify_file, describe
    path = tmp_path / "trial.txt"
    path.write_text("A randomised controlled trial of 200 young people. The primary outcome was significantly lower in the "
                    "mentoring group. There were no significant differences in secondary outcomes.", encoding="utf-8")
    text = describe(classify_file(path))
    assert "Direction of findings: mixed (findings in both directions: 1 no-effect phrase, 1 positive phrase)" in text
    assert "'no significant differences'" in text


def test_pdf_line_breaks_and_hyphens_are_joined_before_classification():
    broken = classify("Mentoring trial\n\nYoung people were randomly\nallocated to men-\ntoring or usual support.")
    joined = classify("Mentoring trial\n\nYoung people were randomly allocated to mentoring or usual support.")
    assert broken.study_design == joined.study_design == "rct"
    assert broken.confidence == joined.confidence
    assert "relationship-based" in {t.id for t in broken.interventions}


@pytest.mark.parametrize("text, size", [
    ("In this trial 240 young people were randomly allocated to mentoring or usual support.", 240),
    ("Overall, 1,200 children were surveyed in 2024.", 1200),
])
def test_sample_sizes_stated_before_the_verb_are_found(text, size):
    assert classify(text).sample_size == size
