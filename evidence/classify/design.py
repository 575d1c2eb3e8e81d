"""Study design, evidence level and direction of findings, read from sentences in context.

The rules read context, not keywords alone: a design named after a negation or a wish ("no
randomised trials have been conducted", "future trials should") does not count; news about a
trial is news; "did not have a positive impact" is no effect, not positive.
"""
from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from evidence.classify.taxonomy import Compiled, compiled_with_anchor, lower_pattern, lowered, scan

SCALE_VERSION = "1.0"

# study_design -> evidence_level (None: off the scale)
EVIDENCE_LEVELS: dict[str, int | None] = {
    "systematic_review": 5,
    "rct": 4,
    "quasi_experimental": 3,
    "pre_post_or_observational": 2,
    "qualitative": 1,
    "guidance": 0,
    "commentary_or_news": None,
    "unclear": None,
}

DESIGN_LABELS = {
    "systematic_review": "Systematic review or meta-analysis",
    "rct": "Randomised controlled trial",
    "quasi_experimental": "Quasi-experimental (comparison group)",
    "pre_post_or_observational": "Before-and-after or observational",
    "qualitative": "Qualitative or case review",
    "guidance": "Guidance, expert opinion or non-systematic summary",
    "commentary_or_news": "Commentary or news",
    "unclear": "Unclear",
}

DIRECTIONS = ("positive", "mixed", "no_effect", "negative", "unclear", "not_applicable")
FINDING_LABELS = ("positive", "no_effect", "negative", "mixed")  # cues that state a finding (not "unclear")

_DESIGN_CUES: dict[str, list[tuple[str, float]]] = {
    "systematic_review": [
        (r"systematic(?:ally)? (?:literature |evidence |scoping )?review(?:s|ed)?", 3), (r"meta-?analys[ie]s", 3),
        (r"meta-?analytic", 3), (r"cochrane review", 3), (r"\bPRISMA\b", 2), (r"pooled (?:analysis|estimates?)", 2),
        (r"systematic(?:ally)? search(?:ed|es)?", 3), (r"searched (?:the )?(?:pubmed|medline|embase|cochrane|web of science|scopus|psycinfo|\w+ (?:and|,) \w+ databases|electronic databases|databases)", 3),
        (r"(?:included|eligible) studies", 2), (r"\bEMMIE (?:summary|framework|rating)", 3), (r"studies (?:were|met(?: the)?) (?:included|inclusion criteria)", 2), (r"risk of bias", 2),
        (r"(?:articles|studies|papers|trials) (?:that|which) (?:were included|met (?:the |our )?inclusion criteria)", 2),
    ],
    "rct": [
        (r"randomi[sz]ed (?:controlled |control |clinical |cluster |pilot |feasibility |crossover )*trials?", 3),
        (r"\bRCTs?\b", 3), (r"randomly (?:assigned|allocated)", 3), (r"cluster[- ]randomi[sz]ed", 3),
        (r"randomi[sz]ation", 2), (r"randomi[sz]ed to", 3), (r"double[- ]blind(?:ed)?", 3), (r"placebo[- ]controlled", 3),
        (r"(?:assigned|allocated) to (?:one of )?(?:two|three|four|2|3|4) (?:groups|arms)", 2), (r"randomi[sz]ed", 2), (r"placebo", 1), (r"(?:versus|vs\.?|compared (?:with|to)) placebo", 2),
        (r"sham[- ](?:controlled|treatment|stimulation|procedure|group|arm)", 2), (r"(?:versus|vs\.?|compared (?:with|to)) sham", 2),
        # how trials are reported and registered, whether or not they say "randomised"
        (r"random (?:assignment|allocation)", 3), (r"(?:assigned|allocated) at random", 3), (r"(?:single|triple|quadruple)[- ](?:blind|mask)(?:ed)?", 2),
        (r"double[- ]mask(?:ed)?", 3), (r"(?:in )?an? [1-4] ?: ?[1-4] ratio", 2), (r"non-?inferiority", 2), (r"intention[- ]to[- ]treat", 2),
        (r"\bCONSORT\b", 2), (r"wait(?:ing)?[- ]?list(?:ed)? (?:control|comparison|group)", 2), (r"phase (?:iii|3|iii/iv|3/4),? (?:(?:multi-?cent(?:re|er)|open[- ]label|double[- ]blind|clinical|pivotal) )*(?:trial|study)", 1),
        (r"cross-?over (?:design|study|trial)", 1), (r"allocation conceal\w+", 3),
    ],
    "quasi_experimental": [
        (r"quasi-?experiment\w*", 3), (r"(?:matched |propensity[- ]score[- ]matched )?comparison groups?", 2),
        (r"control groups?", 2), (r"propensity score", 3), (r"difference[- ]in[- ]differences?", 3),
        (r"regression discontinuity", 3), (r"matched (?:controls?|comparison|samples?)", 3),
        (r"non-?randomi[sz]ed (?:controlled )?(?:trial|study|comparison)", 3), (r"interrupted time[- ]series", 3),
        (r"comparative study", 1),
    ],
    "pre_post_or_observational": [
        (r"before[- ]and[- ]after", 2), (r"pre[- ]?(?:and|/|-)[- ]?post", 2), (r"baseline (?:and|to) (?:follow[- ]up|exit|end)", 2),
        (r"cohort (?:study|studies|analysis|design)", 2), (r"prospective(?:ly)? (?:study|cohort|follow)", 2),
        (r"retrospective(?:ly)? (?:study|cohort|analysis|review of)", 2), (r"longitudinal", 2), (r"cross-?sectional", 2),
        (r"case-?control", 2), (r"standardi[sz]ed (?:quantitative )?(?:measures?|instruments?|tools?)", 2),
        (r"quantitative (?:analysis|data|measures?)", 2), (r"(?:significantly|statistically significant(?:ly)?) associated", 2),
        (r"odds ratios?", 2), (r"hazard ratios?", 2), (r"regression (?:analysis|models?)", 1),
        (r"(?:nationally )?representative sample", 1), (r"surveys? of (?:around |about |approximately |nearly |almost |more than |over )?[\d,]+", 2),
        (r"(?:online|annual|national|postal|telephone|household|workforce) survey", 2), (r"\bsurvey\b", 1), (r"(?:a|the|our|this) survey of", 2),
        (r"survey \d{4}", 2), (r"statistical (?:bulletin|release)", 2), (r"official statistics", 2), (r"data trends", 1), (r"survey (?:returns|findings|results|responses)", 1),
        (r"observational (?:study|data|design)", 2), (r"data analysis(?: report)?", 2), (r"trend analys[ie]s", 2), (r"analys[ie]s of (?:the )?(?:numbers?|(?:national |administrative |routine )?data)", 2), (r"headline (?:measures|figures|statistics)", 2), (r"quarterly (?:data|statistics)", 2), (r"technical report", 1), (r"administrative data", 1), (r"outcome measures?", 1),
        (r"mixed[- ]methods?", 1), (r"follow(?:ed)?[- ]up (?:for|at|of)", 1), (r"(?:questionnaire|survey) (?:study|data)", 1),
        (r"(?:95|99) ?% ?(?:CI|confidence interval)", 1), (r"incidence|prevalence", 1), (r"p ?[<=] ?0?\.\d+", 1),
        (r"single[- ](?:arm|group)", 2), (r"open[- ]label", 0.5), (r"uncontrolled", 1), (r"case series", 1), (r"retrospective(?:ly)?", 1),
        (r"prospective(?:ly)?", 1), (r"cohort", 1), (r"registry", 1), (r"medical records", 1), (r"(?:were|was) enrolled", 1),
        (r"(?:is|was|were|are) (?:independently |significantly |positively |negatively )?associated with", 1), (r"risk factors?", 1),
        (r"phase (?:i|ii|1|2|1/2|i/ii),? (?:(?:multi-?cent(?:re|er)|open[- ]label|single[- ]arm|dose[- ]escalation|clinical|first[- ]in[- ]human) )*(?:trial|study)", 1), (r"we (?:analy[sz]ed|examined|investigated|evaluated|assessed|measured|compared)", 1),
    ],
    "qualitative": [
        (r"qualitative", 2), (r"(?:semi-?structured |in-?depth )?interviews?", 1), (r"interviewees", 1),
        (r"focus groups?", 1), (r"case files?", 2), (r"case[- ]file (?:analysis|review)", 2), (r"thematic(?:ally)? analy\w+", 2),
        (r"process evaluation", 2), (r"(?:project|study|research) (?:that|which) explored", 2), (r"case stud(?:y|ies)", 1), (r"practice reviews?", 2), (r"serious case reviews?", 2),
        (r"ethnograph\w+", 2), (r"grounded theory", 2), (r"case reports?", 2), (r"lived experience", 1),
        (r"we (?:report|present|describe) (?:a|an|the|two|three) (?:\w+ )?cases?", 3), (r"\d+[- ]year[- ]old (?:man|woman|boy|girl|male|female|patient|child)", 2),
        (r"this case", 1), (r"(?:a|an) (?:rare |unusual |unique )?case of", 2), (r"(?:we (?:have )?present(?:ed)?|presents?) (?:a|an) (?:rare|unusual|unique)", 2),
        (r"(?:clinical )?cases? (?:are |is )?presented", 2),
    ],
    "guidance": [
        (r"guidelines?", 2), (r"guidance", 2), (r"recommendations? (?:on|for)", 1), (r"evidence summar(?:y|ies)", 3),
        (r"practice examples?", 1), (r"framework (?:to|for) support", 2), (r"this briefing", 2), (r"toolkit", 1),
        (r"literature (?:search|review)", 1), (r"scoping review", 2), (r"rapid (?:evidence )?(?:review|assessment)", 2),
        (r"narrative review", 2), (r"expert (?:opinion|consensus|panel)", 2), (r"statutory guidance", 3),
        (r"(?:this|we) review(?:s|ed)? (?:the )?(?:literature|evidence)", 2), (r"consensus statement", 2),
        (r"position (?:paper|statement)", 2), (r"practice guide", 2), (r"quality standards?", 2), (r"minimum standards", 2),
        (r"(?:frontline |knowledge |policy |practice )?briefing(?: paper| note)?", 1.5), (r"independent review (?:of|for|into)", 2),
        (r"(?:a|an) review for the department", 2), (r"regulations", 1),
        (r"(?:this|the present|our|in this|the current) (?:mini-?|narrative |comprehensive |brief |short |critical )?review", 2),
        (r"we (?:review|summari[sz]e|discuss|outline|highlight|describe|gather|provide an overview)", 2), (r"review(?:s|ed)? (?:the|recent|current)", 1),
        (r"overview of", 1), (r"(?:this|the) (?:paper|article|chapter|commentary|essay) (?:discusses|reviews|describes|examines|explores|considers|summari[sz]es)", 2), (r"recent (?:advances|developments|progress|findings|insights)", 1),
        (r"current (?:knowledge|understanding|state of)", 1), (r"(?:is|are) (?:also )?discussed", 1), (r"future (?:directions|perspectives|research)", 1),
        # the kind of document, as its title and front matter name it
        (r"strateg(?:y|ies)", 1), (r"presented to parliament", 2), (r"by command of", 2), (r"progress (?:update|report)", 1),
        (r"guide (?:to|for)", 2), (r"specification", 1), (r"practice (?:tool|note)s?", 2), (r"(?:example|template) form", 2),
        (r"debate (?:pack|briefing)|westminster hall debate", 2), (r"annex(?:es)?", 1), (r"vision (?:for|paper|statement)", 2),
        (r"this module", 1), (r"crown copyright", 0.5), (r"open government licence", 0.5),
    ],
}
_NEWS_CUES: list[tuple[str, float]] = [
    (r"\blive q&a\b", 3), (r"join (?:a|our) panel", 3), (r"comments section", 2), (r"\bpress release\b", 3), (r"\bnewsletter\b", 3),
    *((rf"\b{kind} (?:address|speech)\b", 3) for kind in ("presidential", "inaugural", "keynote")),
    # one literal per pattern, so each is skipped cheaply where its word is absent (see taxonomy.Anchors)
    *((rf"\b{word}\b", 0.5) for word in ("said", "says", "told", "added")),
    (r"\bthe (?:report|study|research|review|researchers?|research team|survey|evaluation) (?:found|finds|said|says|states|stated|adds|added|concluded|calls|called|highlighted|warned|revealed|shows|showed)\b", 1),
    *((rf"\b{phrase}\b", 1) for phrase in ("according to", "published today", "published yesterday", "published this week",
                                              "has been called into question", "called for")),
    (r"read the full (?:research|report|story|article)", 1),
    (r"\bsubscribe\b", 1), (r"\bdigital membership\b", 1), (r"\bpodcast\b", 3), (r"\btranscript\b", 1),
]
_NEGATORS = re.compile(
    r"\b(?:no|not|never|without|lack(?:ing)?|absence|none|few|yet to|need(?:ed|s)? for|should|future|would|could|"
    r"recommend\w*|call(?:s|ed)? for|benefit from|planned|proposed|protocol|unlike|instead of|rather than)\b[^.;:]{0,60}$",
    re.I,
)
_NEGATED_AFTER = re.compile(r"^[^.;]{0,40}\b(?:ha(?:s|ve|d) (?:not |never )?(?:yet )?been (?:conducted|carried out|done|undertaken)|(?:are|were|is) (?:lacking|needed|not available|absent))", re.I)
_CITING = re.compile(r"\b(?:previous|prior|earlier|existing|other|recent|published|several|many|some)\s+(?:\w+\s+){0,2}$", re.I)
_SELF = re.compile(r"\b(?:this|our|we|the present|the current|the (?:aim|purpose) of this)\b", re.I)

_DIRECTION_CUES: dict[str, list[str]] = {
    "no_effect": [
        r"did not (?:have an?|make an?|show an?|lead to an?)? ?(?:positive |significant |measurable |any )?(?:impact|effect|difference|improvement)",
        r"did not (?:improve|reduce|change|increase|decrease|lead to)",
        r"no (?:statistically )?(?:significant |measurable |clear |discernible |overall )?(?:differences?|effects?|impacts?|improvements?|changes?|benefits?)",
        r"not (?:statistically )?significant(?:ly)?(?: different)?", r"did not differ", r"no better than", r"were not effective",
        r"was not effective", r"had no (?:effect|impact)", r"null (?:result|finding|effect)s?",
    ],
    "negative": [
        r"associated with (?:more |poorer |worse |negative |adverse )(?:outcomes?|effects?)",
        r"(?:negative|adverse|harmful|iatrogenic) (?:outcomes?|effects?|impacts?|consequences)",
        r"(?:worse|poorer|deteriorat\w+) (?:outcomes?|results?)", r"increased (?:the )?(?:risk of harm|harm)", r"made (?:things|matters) worse",
        r"potentially harmful",
    ],
    "positive": [
        r"(?:evidence of |showed |shows |reported |found )?positive (?:change|changes|impact|impacts|effects?|outcomes?|results?|findings)",
        r"(?:significant(?:ly)? |marked |substantial |notable )?(?:improvements?|improving) (?:in|for|to|on|their|among|across)",
        r"(?:significant(?:ly)? |marked |substantial |notable )?improved", r"(?:showed|shows|show|saw|some|an|clear|measurable) improvements?",
        r"reduc(?:ed|tion|tions|ing) (?:in )?(?:key )?(?:risk|risks|the risk|missing|offending|episodes|the use|use|incidents|symptoms|placement)",
        r"(?:increase|increases|increased) in (?:protective|resilience|school|engagement|attendance|well-?being|confidence|safety)",
        r"(?:was|were|is|are|proved|proven) (?:highly |more |very )?effective", r"effective (?:in|at) (?:reducing|improving|preventing|increasing)",
        r"encouraging (?:results|findings|cost-?benefit)", r"significant(?:ly)? (?:better|fewer|lower|higher|greater|reduced|increased)",
        r"beneficial effects?", r"(?:successfully|successful (?:in|at))",
    ],
    "unclear": [
        r"(?:evidence|outcomes?)\b[^.]{0,60}\b(?:generally|largely|often|mostly|still|remains?|is|was|were|are)? ?lacking",
        r"lack of (?:robust |rigorous |good[- ]quality |clear )?(?:evidence|data|outcome data)", r"insufficient evidence", r"inconclusive",
        r"not (?:been )?(?:robustly |rigorously )?(?:evidenced|tested|evaluated)", r"no evidence to support", r"limited evidence",
        r"evidence (?:base )?(?:is|was|remains) (?:weak|limited|thin|sparse|mixed)", r"unclear whether", r"more research is needed",
        r"(?:have|has) not been tested", r"too early to (?:say|tell)",
    ],
    "mixed": [r"(?:more )?equivocal", r"mixed (?:results|findings|evidence|picture)", r"(?:inconsistent|contradictory) (?:results|findings)"],
}

# Compiled for lower-cased text: re.IGNORECASE defeats the regex engine's literal-prefix search.
# Word boundaries are checked in Python (see _bounded): a leading look-behind has the same effect.
# Each pattern carries its anchor literal: a text without it is not scanned (see taxonomy.anchor).
def _prepared(pattern: str) -> Compiled:
    return compiled_with_anchor(re.compile(lower_pattern(pattern)))


_COMPILED_DESIGN = {k: [(_prepared(p), w) for p, w in cues] for k, cues in _DESIGN_CUES.items()}
_COMPILED_NEWS = [(_prepared(p), w) for p, w in _NEWS_CUES]
_COMPILED_DIRECTION = {k: [_prepared(p) for p in cues] for k, cues in _DIRECTION_CUES.items()}


def _clause_before(text: str, start: int, width: int) -> str:
    """Up to `width` characters before `start`, from the last sentence or clause break on."""
    window = text[max(0, start - width) : start]
    cut = max(window.rfind("."), window.rfind(";"), window.rfind(":"), window.rfind("!"), window.rfind("?"), window.rfind("\n"))
    return window[cut + 1 :]


def _bounded(low: str, start: int, end: int, check_end: bool = True) -> bool:
    """True when a match stands on word boundaries."""
    if start > 0 and low[start - 1].isalnum():
        return False
    return not (check_end and end < len(low) and low[end].isalnum())


# A registration setting out its own plan ("the investigators will", "this protocol aims")
_OWN_PLAN = r"(?:the investigators (?:will|plan|propose|hypothesi[sz]e|aim)|this (?:plan|protocol) (?:will|integrates|aims))"

# A text that describes a study of its own but no recognisable design stays "unclear"; one that
# describes no study at all (no design, sample, participants or findings) is expert opinion or description.
_OWN_STUDY = re.compile(
    r"\b(?:this|the present|the current|our|the proposed) (?:study|trial|evaluation|research|project|pilot|investigation)\b"
    r"|\bparticipants?\b|\bpatients (?:will|were|are)\b|\bwe (?:found|observed|measured|recruited|enrolled|conducted|carried out)\b"
    r"|\benrol\w*|\brecruit\w*|\bsubjects\b|\bsample of\b|\bfindings\b|\bresults\b"
    r"|\b" + _OWN_PLAN + r"\b")
DESCRIPTIVE_MIN_CHARS = 250
REPEATS_COUNTED = 2  # a phrase repeated (six p-values, "cohort" on every line) counts at most this often
_PEOPLE_STUDIED = re.compile(
    r"\b(?:participants?|patients (?:will|were|are)|subjects|(?:were|will be|was|are) (?:enrolled|recruited)|sample of \d"
    r"|dose (?:escalation|expansion)|will (?:receive|be (?:treated|given|offered|followed))|(?:were|was) followed"
    r"|participated in (?:this|the|our) (?:research|study|survey)|provided (?:their )?responses"
    r"|" + _OWN_PLAN + r")\b")

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")

NEWS_DOC_TYPES = {"news", "blog", "press_release", "comment", "editorial", "letter", "interview"}
GUIDANCE_DOC_TYPES = {"guideline", "guidance", "evidence_summary", "policy", "statutory_guidance", "quality_standard"}
NEWS_PUBLISHERS = {"cyp now", "community care", "the guardian", "sciencedaily", "bbc news", "the independent", "children & young people now"}
PUB_TYPE_DESIGNS = [
    (("systematic review", "meta-analysis"), "systematic_review"),
    (("randomized controlled trial", "randomised controlled trial"), "rct"),
    (("practice guideline", "guideline", "consensus development conference"), "guidance"),
    (("news", "editorial", "comment", "letter", "newspaper article"), "commentary_or_news"),
    (("observational study", "cohort", "case-control", "cross-sectional"), "pre_post_or_observational"),
]


@dataclass
class Cue:
    """A phrase that counted towards (or was set aside from) a design or direction."""

    phrase: str
    start: int
    end: int
    label: str
    weight: float = 1.0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form kept in the catalogue and printed by `evidence classify`."""
        out: dict[str, Any] = {"phrase": self.phrase, "start": self.start, "end": self.end, "for": self.label}
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class DesignResult:
    """A study design with the level it gives, its confidence and the phrases behind it."""

    study_design: str
    evidence_level: int | None
    confidence: float
    rationale: list[Cue] = field(default_factory=list)
    set_aside: list[Cue] = field(default_factory=list)  # design words read as negated or cited
    covers_design: str | None = None  # for news: the design of what it reports on


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentences (and of lines, which headings and list items are)."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def design_of(text: str, *, title_end: int = 0, doc_type: str | None = None, publisher: str | None = None,
              pub_types: list[str] | None = None, low: str | None = None, present: Container[str] | None = None,
              positions: dict[str, list[int]] | None = None) -> DesignResult:
    """Study design and evidence level from a text (and what metadata says about its kind); `low` is `lowered(text)`."""
    low = low if low is not None else lowered(text)
    present = present if present is not None else low
    scores: dict[str, float] = {k: 0.0 for k in _DESIGN_CUES}
    kept: dict[str, list[Cue]] = {k: [] for k in _DESIGN_CUES}
    set_aside: list[Cue] = []
    for design, cues in _COMPILED_DESIGN.items():
        for compiled, weight in cues:
            if len(compiled.literals) == 1 and compiled.literals[0] not in present:
                continue
            counted = 0
            for found in (scan(compiled, low, positions) if positions is not None else compiled.pattern.finditer(low)):
                start, end = found.span()
                if not _bounded(low, start, end):
                    continue
                cue = Cue(text[start:end], start, end, design, weight)
                before = _clause_before(text, start, 80)
                after = text[end : end + 60]
                if _NEGATORS.search(before) or _NEGATED_AFTER.search(after):
                    cue.note = "negated or hoped for, not done"
                    set_aside.append(cue)
                    continue
                factor = 1.0
                if start < title_end:
                    factor = 2.5
                elif _SELF.search(before[-50:]):
                    factor = 1.5
                elif _CITING.search(before):
                    factor, cue.note = 0.4, "cites other work"
                cue.weight = weight * factor
                counted += 1
                if counted <= REPEATS_COUNTED:
                    scores[design] += cue.weight
                    kept[design].append(cue)
    news_score, news_cues = _news_score(text, low, present, positions)
    best = max(scores, key=lambda k: (scores[k], EVIDENCE_LEVELS[k] or 0))
    ranked = sorted(scores.values(), reverse=True)
    empirical = best if scores[best] > 0 else None

    forced = _design_from_metadata(doc_type, publisher, pub_types)
    is_news = forced == "commentary_or_news" or (news_score >= 3 and news_score >= scores.get("guidance", 0))
    if is_news:
        return DesignResult("commentary_or_news", None, 0.9 if forced else min(0.9, 0.5 + news_score / 10),
                            news_cues[:6], set_aside[:6], covers_design=empirical)
    if forced and forced in EVIDENCE_LEVELS:
        return DesignResult(forced, EVIDENCE_LEVELS[forced], 0.9, kept.get(forced, [])[:6], set_aside[:6])
    if doc_type in GUIDANCE_DOC_TYPES and scores["systematic_review"] < 3:
        return DesignResult("guidance", 0, 0.8, kept["guidance"][:6], set_aside[:6])
    if empirical is None or scores[best] < 1.0:
        if len(text.strip()) >= DESCRIPTIVE_MIN_CHARS and not _OWN_STUDY.search(low):
            why = Cue("(no study, sample or findings described)", 0, 0, "guidance", 0.0, "read as expert opinion or description")
            return DesignResult("guidance", 0, 0.35, [why, *kept["guidance"][:5]], set_aside[:6])
        studied = _PEOPLE_STUDIED.search(low)
        if studied:  # a study of its own, of people, naming no design and no comparison group: observational at best
            why = Cue(text[studied.start():studied.end()], studied.start(), studied.end(), "pre_post_or_observational", 0.0,
                      "a study of people with no design or comparison group named: read as observational")
            return DesignResult("pre_post_or_observational", 2, 0.3, [why], set_aside[:6])
        return DesignResult("unclear", None, 0.3, [], set_aside[:6])
    second = ranked[1] if len(ranked) > 1 else 0.0
    confidence = round(min(0.95, 0.4 + 0.5 * (scores[best] - second) / (scores[best] + 1.0) + min(scores[best], 6) / 30), 2)
    return DesignResult(best, EVIDENCE_LEVELS[best], confidence, sorted(kept[best], key=lambda c: -c.weight)[:6], set_aside[:6])


def _news_score(text: str, low: str, present: Container[str], positions: dict[str, list[int]] | None = None) -> tuple[float, list[Cue]]:
    score, cues = 0.0, []
    for compiled, weight in _COMPILED_NEWS:
        if len(compiled.literals) == 1 and compiled.literals[0] not in present:
            continue
        for found in (scan(compiled, low, positions) if positions is not None else compiled.pattern.finditer(low)):
            score += weight
            cues.append(Cue(text[found.start():found.end()], found.start(), found.end(), "commentary_or_news", weight))
    return score, sorted(cues, key=lambda c: -c.weight)


def _design_from_metadata(doc_type: str | None, publisher: str | None, pub_types: list[str] | None) -> str | None:
    if doc_type in NEWS_DOC_TYPES:
        return "commentary_or_news"
    if publisher and publisher.strip().lower() in NEWS_PUBLISHERS and doc_type is None:
        return "commentary_or_news"
    if pub_types:
        lowered = {p.lower() for p in pub_types}
        for names, design in PUB_TYPE_DESIGNS:
            if lowered & set(names):
                return design
    return None


@dataclass
class DirectionResult:
    """The direction of findings, the phrases behind it, and per-sentence spans for tying to interventions."""

    direction: str
    cues: list[Cue] = field(default_factory=list)


def direction_cues(text: str, low: str | None = None, present: Container[str] | None = None,
                   positions: dict[str, list[int]] | None = None) -> list[Cue]:
    """Every direction phrase in a text; a no-effect phrase hides the positive words inside it."""
    found: list[Cue] = []
    taken: list[tuple[int, int]] = []
    low = low if low is not None else lowered(text)
    present = present if present is not None else low
    for label in ("no_effect", "negative", "unclear", "mixed", "positive"):
        for compiled in _COMPILED_DIRECTION[label]:
            if len(compiled.literals) == 1 and compiled.literals[0] not in present:
                continue
            for match in (scan(compiled, low, positions) if positions is not None else compiled.pattern.finditer(low)):
                start, end = match.span()
                if end - start < 4 or not _bounded(low, start, end, check_end=False) or any(start < b and a < end for a, b in taken):
                    continue
                before = _clause_before(text, start, 50)
                if label == "positive" and re.search(r"\b(?:no|not|without|little|lack of)\b[^.]{0,25}$", before, re.I):
                    continue
                taken.append((start, end))
                found.append(Cue(text[start:end].strip(), start, end, label))
    return sorted(found, key=lambda c: c.start)


def direction_of(cues: list[Cue], design: DesignResult, text: str) -> DirectionResult:
    """The direction of findings for the record as a whole."""
    counts = {label: 0 for label in _DIRECTION_CUES}
    for cue in cues:
        counts[cue.label] += 1
    level = design.evidence_level
    if design.study_design == "commentary_or_news":
        if counts["unclear"]:
            return DirectionResult("unclear", [c for c in cues if c.label == "unclear"][:6])
        return DirectionResult("not_applicable")
    if design.study_design == "guidance" or not any(counts.values()) and (level is None or level < 3):
        # guidance reports no finding; nor does a survey or an unclassifiable text with no finding phrase at all.
        # An evaluation with a comparison group but no readable finding stays "unclear" (below).
        return DirectionResult("not_applicable")
    if level == 1 and not re.search(r"\b(?:this|the) evaluation\b|\bevaluat(?:ed|ion) (?:of|found)", text, re.I):
        return DirectionResult("not_applicable")
    direction = decide(counts)
    if direction is None:
        direction = "unclear"
    return DirectionResult(direction, [c for c in cues if c.label == direction or direction == "mixed"][:8])


def decide(counts: dict[str, int]) -> str | None:
    """The direction implied by counts of cues (None when there are none)."""
    pos, none, neg, unclear, mixed = (counts.get(k, 0) for k in ("positive", "no_effect", "negative", "unclear", "mixed"))
    if neg and neg >= pos:
        return "negative"
    if none and not pos:
        return "no_effect"
    if pos and (none or neg):
        return "mixed"
    if pos:
        return "mixed" if mixed and pos <= mixed else "positive"
    if mixed:
        return "mixed"
    if unclear:
        return "unclear"
    return None


def anchors() -> list[str]:
    """Every design, news and direction cue's anchor literal (see taxonomy.Anchors)."""
    compiled = [c for cues in _COMPILED_DESIGN.values() for c, _ in cues] + [c for c, _ in _COMPILED_NEWS] + \
        [c for cues in _COMPILED_DIRECTION.values() for c in cues]
    return [literal for c in compiled for literal in c.literals]
