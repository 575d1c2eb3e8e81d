"""Study design, evidence level and direction of findings, read from sentences in context.

The rules read context, not keywords alone: a design named after a negation or a wish ("no
randomised trials have been conducted", "future trials should") does not count; news about a
trial is news; "did not have a positive impact" is no effect, not positive.
"""
from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from evidence.classify.genre import Genre, genre_of
from evidence.classify.taxonomy import Compiled, LiteralIndex, Phrases, compiled_with_anchor, lower_pattern, lowered, scan

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
        (r"assigned to (?:one of )?(?:two|three|four|2|3|4) (?:groups|arms)", 2), (r"allocated to (?:one of )?(?:two|three|four|2|3|4) (?:groups|arms)", 2), (r"randomi[sz]ed", 2), (r"placebo", 1), (r"(?:versus|vs\.?|compared (?:with|to)) placebo", 2),
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
        # comparisons that never say "comparison group" or "control group"
        (r"comparison (?:areas?|sites?|local authorities|councils|cohorts?|schools|sample)", 3), (r"matched (?:areas?|sites?|local authorities|councils|cohorts?|schools)", 3),
        (r"(?:areas?|sites?|local authorities|councils) (?:with|that had) and (?:those )?without", 3), (r"(?:with|without) the (?:service|programme|intervention),? (?:and|compared)", 2),
        (r"compared (?:with|to|against) (?:(?:the )?(?:\w+ )?(?:similar|other|matched|neighbouring|statistical neighbour|non-pilot|non-participating)) (?:local )?(?:areas|authorities|councils|sites|schools|young people|families|children)", 3),
        (r"statistical neighbours", 2), (r"regression[- ]adjusted", 3), (r"(?:adjusting|adjusted|controlling|controlled) for (?:baseline|prior|differences|characteristics|age|deprivation)", 2),
        (r"counterfactual", 2), (r"synthetic control", 3), (r"who did not (?:receive|get|take part|attend|use) (?:the )?(?:service|programme|intervention|support|mentoring)", 2),
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
        (r"incidence|prevalence", 1),
        # before/after figures an evaluation reports ("missing episodes fell from 40% to 15%")
        (r"(?:fell|dropped|decreased|reduced|declined|rose|increased|went (?:up|down)|improved|reduction|increase|fall|drop|rise) from (?:an? )?(?:average of )?\d[\d.,]{0,12}(?: ?%| per ?cent)?(?: \w+){0,3} to \d[\d.,]{0,12}", 2),
        (r"at (?:referral|baseline|entry|intake|the start)(?: and| compared with| to) (?:at )?(?:closure|case closure|exit|follow-up|the end|six months|12 months|discharge)", 2),
        (r"\d[\d.]*(?: ?%| per ?cent) (?:fewer|reduction|decrease|drop|fall|increase|more)", 1), (r"p ?[<=] ?0?\.\d+", 1),
        (r"single[- ](?:arm|group)", 2), (r"open[- ]label", 0.5), (r"uncontrolled", 1), (r"case series", 1), (r"retrospective(?:ly)?", 1),
        (r"prospective(?:ly)?", 1), (r"cohort", 1), (r"registry", 1), (r"medical records", 1), (r"(?:were|was) enrolled", 1),
        (r"(?:is|was|were|are) (?:independently |significantly |positively |negatively )?associated with", 1), (r"risk factors?", 1),
        (r"phase (?:i|ii|1|2|1/2|i/ii),? (?:(?:multi-?cent(?:re|er)|open[- ]label|single[- ]arm|dose[- ]escalation|clinical|first[- ]in[- ]human) )*(?:trial|study)", 1), (r"we (?:analy[sz]ed|examined|investigated|evaluated|assessed|measured|compared)", 1),
    ],
    "qualitative": [
        (r"qualitative", 2), (r"(?<!return )(?<!return home )(?:semi-?structured |in-?depth )?interviews?", 1), (r"interviewees", 1),
        (r"focus groups?", 1), (r"case files?", 2), (r"case[- ]file (?:analysis|review)", 2), (r"thematic(?:ally)? analy\w+", 2),
        (r"process evaluation", 2), (r"(?:project|study|research) (?:that|which) explored", 2), (r"case stud(?:y|ies)", 1), (r"practice reviews?", 2), (r"serious case reviews?", 2),
        (r"ethnograph\w+", 2), (r"grounded theory", 2), (r"case reports?", 2), (r"lived experience", 1),
        (r"we (?:report|present|describe) (?:a|an|the|two|three) (?:\w+ )?cases?", 3), (r"\d{1,3}[- ]year[- ]old (?:man|woman|boy|girl|male|female|patient|child)", 2),
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


class _Context:
    """A pattern read case-insensitively on a few words of context around a cue (a sentence's last clause).

    On ASCII context (nearly always) its lower-case twin runs on the lowered words without re.IGNORECASE,
    which is several times faster and matches exactly the same; other text is read as written, with re.I.
    """

    def __init__(self, pattern: str, flags: int = re.I) -> None:
        self._cased = re.compile(pattern, flags)
        self._lower = re.compile(lower_pattern(pattern), flags & ~re.I)

    def search(self, window: str) -> bool:
        """Whether the pattern occurs in `window` (ignoring case)."""
        if window.isascii():
            return self._lower.search(window.lower()) is not None
        return self._cased.search(window) is not None


_NEGATORS = _Context(
    r"\b(?:no|not|never|without|lack(?:ing)?|absence|none|few|yet to|need(?:ed|s)? for|should|future|would|could|"
    r"recommend\w*|call(?:s|ed)? for|benefit from|unlike|instead of|rather than)\b[^.;:]{0,60}$",
    re.I,
)
# a design that will be used, not one that was: a protocol's own plan, or news of a trial to come
_PLANNED = _Context(
    r"\b(?:will|shall|planned|proposed|protocol|is to be|are to be|set to|plans? to|planning to|is due to|are due to|going to|"
    r"to be (?:conducted|carried out|run|launched|tested|trialled)|aims? to|intends? to|hopes? to)\b[^.;:]{0,60}$", re.I)
_PLANNED_AFTER = _Context(r"^[^.;]{0,50}\b(?:will (?:be |run|test|start|begin|take|involve|recruit|compare)|is (?:due|set|planned|expected) to|are (?:due|set|planned|expected) to)", re.I)
# the rules or guidance a service works within are not the genre of the document that mentions them
_WORKS_WITHIN = _Context(
    r"\b(?:within|under|in line with|in accordance with|set out in|required by|compliance with|compl(?:y|ies) with|following|"
    r"according to|defined in|described in|informed by|guided by|as per|adhere[sd]? to|meets?|meeting)\b(?:\s+(?:the|its|their|our|relevant|national|statutory|local|current|government|dfe|department'?s?|\w+'s?)){0,3}\s*$", re.I)
_NEGATED_AFTER = _Context(r"^[^.;]{0,40}\b(?:ha(?:s|ve|d) (?:not |never )?(?:yet )?been (?:conducted|carried out|done|undertaken)|(?:are|were|is) (?:lacking|needed|not available|absent))", re.I)
_CITING = _Context(r"\b(?:previous|prior|earlier|existing|other|recent|published|several|many|some)\s+(?:\w+\s+){0,2}$", re.I)
_SELF = _Context(r"\b(?:this|our|we|the present|the current|the (?:aim|purpose) of this)\b", re.I)

_DIRECTION_CUES: dict[str, list[str]] = {
    "no_effect": [
        r"did not (?:have an?|make an?|show an?|lead to an?)? ?(?:positive |significant |measurable |any )?(?:impact|effect|difference|improvement)",
        r"did not (?:improve|reduce|change|increase|decrease|lead to)",
        r"no (?:statistically )?(?:significant |measurable |clear |discernible |overall )?(?:differences?|effects?|impacts?|improvements?|changes?|benefits?)",
        r"not (?:statistically )?significant(?:ly)?(?: different)?", r"did not differ", r"no better than", r"were not effective",
        r"was not effective", r"had no (?:effect|impact)", r"null (?:result|finding|effect)s?",
        # negated findings, however they are worded
        r"did not (?:significantly |substantially |measurably |statistically )(?:improve|reduce|change|increase|decrease|differ|affect|lower)",
        r"failed to (?:improve|reduce|show|demonstrate|find|change|lower)",
        r"no (?:evidence|indication|sign) (?:of|that) (?:an? |any )?(?!adverse|harm|side)(?:\w+ ){0,3}(?:improv|reduc|effect|impact|benefit|differen|change)\w*",
        r"no (?:significant |statistically significant |measurable |clear )?(?:reductions?|increases?|decreases?)\b",
        r"(?:was|were) not (?:significantly |statistically )?(?:different|lower|higher|better|reduced|improved)",
        r"similar (?:in|between|across) (?:the )?(?:two |both )?(?:groups|arms)",
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
        # hedged findings keep their direction (the hedge lowers confidence, not direction)
        r"(?:may|might|could) (?:have )?(?:helped|improved|reduced|contributed to (?:a |an )?(?:reduction|improvement))",
        r"appear(?:s|ed)? to (?:have )?(?:improved?|reduced?|helped|help|work(?:ed)?|be effective)",
        r"early (?:signs|indications|evidence) (?:of|that)", r"promising (?:results|findings|signs|outcomes|evidence|impact)",
        r"(?:felt|feel|feeling|reported feeling) (?:safer|more confident|better|happier|more supported)",
        r"fewer (?:missing episodes|incidents|placement moves|placement breakdowns|arrests|exclusions|episodes)",
        r"(?:helped|helps) (?:young people|children|families|them|parents) (?:to )?(?:\w+ )?(?:feel|stay|keep|reduce|improve|engage|build)",
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
# each list in the order it is read, with the index of which cues a text's anchor literals make worth trying
_DESIGN_ORDER = [(design, compiled, weight) for design, cues in _COMPILED_DESIGN.items() for compiled, weight in cues]
_DESIGN_INDEX = LiteralIndex(compiled for _, compiled, _ in _DESIGN_ORDER)
_NEWS_INDEX = LiteralIndex(compiled for compiled, _ in _COMPILED_NEWS)
_DIRECTION_ORDER = [(label, compiled) for label in ("no_effect", "negative", "unclear", "mixed", "positive")
                    for compiled in _COMPILED_DIRECTION[label]]
_DIRECTION_INDEX = LiteralIndex(compiled for _, compiled in _DIRECTION_ORDER)


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
_PEOPLE_STUDIED = Phrases(
    r"\b(?:participants?|patients (?:will|were|are)|subjects|(?:were|will be|was|are) (?:enrolled|recruited)|sample of \d"
    r"|dose (?:escalation|expansion)|will (?:receive|be (?:treated|given|offered|followed))|(?:were|was) followed"
    r"|participated in (?:this|the|our) (?:research|study|survey)|provided (?:their )?responses"
    r"|" + _OWN_PLAN + r")\b")

# a text setting out its own study to come ("this protocol", "the trial will recruit", "participants will be").
# Phrases: searched alternative by alternative where each one's literal occurs (the same match, found faster).
_OWN_PROTOCOL = Phrases(
    r"\b(?:this (?:protocol|trial|study|evaluation|review) (?:will|aims|is designed)|(?:study|trial) protocol\b|protocol for (?:a|an|the)\b"
    r"|participants will\b|we will\b"
    r"|the investigators (?:will|plan|propose|hypothesi[sz]e|aim)|(?:is|are) (?:currently )?(?:recruiting|under way|underway))")
_REPORTS_RESULTS = Phrases(r"\b(?:we found|results (?:showed|show|indicate|suggest)|(?:was|were) (?:significantly|associated)|findings (?:show|suggest|indicate))\b")
# an evaluation, project or research report, by its own words, which may name no method at all
_EVALUATION = Phrases(
    r"\b(?:(?:this|the|an|our|independent|final|interim) evaluation|evaluation (?:of|report|found|findings)|evaluat(?:ed|ing) (?:the|a|an|how|whether)"
    r"|(?:this|the|our) (?:project|pilot|programme|research|study) (?:found|shows|showed|suggests|reports|explored|examined|looked)"
    r"|findings (?:of|from) (?:our|the|this|a) (?:research|study|project|evaluation|pilot)|impact report|research report"
    r"|(?:this|the) report (?:presents|sets out|describes) (?:the )?(?:findings|results))\b")
# what a research report says of itself, against what advice or policy says: for a text that names no method
_RESEARCH_WORDS = frozenset("findings research researchers study studies pilot piloted pilots feasibility evaluation evaluations evaluated "
                            "evaluating analysis analyses explores explored exploring investigation investigated examines examined "
                            "examining insight insights understanding data impact".split())
_RESEARCH_PHRASES = ("annual report", "views of", "experiences of", "executive summary", "evidence from", "evidence on", "what we found",
                     "what we learned", "what we heard")
_ADVICE_WORDS = frozenset("guidance guide should must framework strategy strategies standard standards regulation regulations statutory "
                          "recommend recommends recommended recommendation recommendations advice toolkit policy policies duty duties "
                          "requirement requirements consultation legislation".split())
_ADVICE_PHRASES = ("how to", "set out", "sets out")
_TOKEN = re.compile(r"[a-z]+")


def _research_and_advice(low: str) -> tuple[int, int, str | None]:
    """How many research words and advice words a lowered text uses, and the first research word."""
    research = advice = 0
    first = None
    for word in _TOKEN.findall(low):
        if word in _RESEARCH_WORDS:
            research += 1
            first = first or word
        elif word in _ADVICE_WORDS:
            advice += 1
    research += sum(low.count(p) for p in _RESEARCH_PHRASES)
    advice += sum(low.count(p) for p in _ADVICE_PHRASES)
    return research, advice, first


_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")

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
    ongoing: bool = False  # a protocol, registration or planned study: no results yet, off the scale
    decided_by: dict[str, str] | None = None  # the metadata field that decided the genre
    scores: dict[str, float] = field(default_factory=dict)  # each design's cue score (the learned layer's features)
    news_score: float = 0.0
    planned: str | None = None  # the design named only as planned ("will be randomly allocated")


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentences (and of lines, which headings and list items are)."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def design_of(text: str, *, title_end: int = 0, doc_type: str | None = None, publisher: str | None = None,
              pub_types: list[str] | None = None, low: str | None = None, present: Container[str] | None = None,
              positions: dict[str, list[int]] | None = None, metadata: Mapping[str, Any] | None = None) -> DesignResult:
    """Study design and evidence level from the source's metadata first, then the text; `low` is `lowered(text)`."""
    low = low if low is not None else lowered(text)
    present = present if present is not None else low
    scores: dict[str, float] = {k: 0.0 for k in _DESIGN_CUES}
    kept: dict[str, list[Cue]] = {k: [] for k in _DESIGN_CUES}
    planned: dict[str, float] = {}
    set_aside: list[Cue] = []
    for cue_index in _DESIGN_INDEX.active(present):  # in table order: only the cues whose literal occurs
        design, compiled, weight = _DESIGN_ORDER[cue_index]
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
            if _PLANNED.search(before) or _PLANNED_AFTER.search(after):
                cue.note = "planned, not done yet"
                set_aside.append(cue)
                planned[design] = planned.get(design, 0.0) + weight
                continue
            if design == "guidance" and _WORKS_WITHIN.search(before[-60:]):
                cue.note = "the rules or guidance it works within, not its own genre"
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
    empirical_study = max((d for d in scores if d != "guidance"), key=lambda k: (scores[k], EVIDENCE_LEVELS[k] or 0))
    covered = empirical_study if scores[empirical_study] >= 1.0 else None
    planned_design = max(planned, key=lambda k: (planned[k], EVIDENCE_LEVELS[k] or 0)) if planned else None
    own_plan = bool(_OWN_PROTOCOL.search(low))
    extras = {"scores": scores, "news_score": news_score, "planned": planned_design}

    def result(design: str, confidence: float, why: list[Cue], *, covers: str | None = None, ongoing: bool = False,
               decided: Genre | None = None) -> DesignResult:
        level = None if ongoing or design in ("commentary_or_news", "unclear") else EVIDENCE_LEVELS[design]
        return DesignResult(design, level, confidence, why[:6], set_aside[:6], covers_design=covers, ongoing=ongoing,
                            decided_by=decided.decided_by() if decided else None, **extras)  # type: ignore[arg-type]

    genre = genre_of(metadata, doc_type=doc_type, publisher=publisher, pub_types=pub_types)
    forced = genre.design if genre else None
    text_news = news_score >= 3 and news_score >= scores.get("guidance", 0)
    if forced == "commentary_or_news" or (text_news and not forced):
        ongoing = planned_design is not None and not covered
        return result("commentary_or_news", 0.9 if forced else min(0.9, 0.5 + news_score / 10), news_cues,
                      covers=covered or planned_design, ongoing=ongoing, decided=genre if forced else None)
    if forced == "guidance":
        if scores["systematic_review"] >= 3:
            return result("systematic_review", 0.6, kept["systematic_review"], decided=genre)
        return result("guidance", 0.85, kept["guidance"], decided=genre)
    if forced:  # a design the publication types or the registry state
        assert genre is not None
        ongoing = genre.ongoing or (planned_design is not None and own_plan and not _REPORTS_RESULTS.search(low))
        return result(forced, 0.9, kept.get(forced, []), ongoing=ongoing, decided=genre)
    kind = genre.kind if genre else None
    if kind == "review":
        if scores["systematic_review"] >= 3:
            return result("systematic_review", 0.7, kept["systematic_review"], decided=genre)
        return result("guidance", 0.75, kept["guidance"], decided=genre)
    # a protocol or registration (the metadata says so, or the text sets out its own plan), or news of a study to come
    is_protocol = kind == "protocol" or (planned_design is not None and own_plan and not _REPORTS_RESULTS.search(low))
    if is_protocol and (planned_design or empirical_study):
        design = planned_design if planned_design and planned.get(planned_design, 0) >= scores[empirical_study] else empirical_study
        if scores[design] > 0 or planned.get(design):
            why = kept[design] or [c for c in set_aside if c.label == design]
            return result(design, 0.6, why, ongoing=True, decided=genre if kind == "protocol" else None)
    if planned_design and not own_plan and scores[best] < 1.0 and len(text) < 2000 and kind is None:
        why = [c for c in set_aside if c.label == planned_design]
        return result("commentary_or_news", 0.45, [*news_cues, *why], covers=planned_design, ongoing=True)
    if empirical is None or scores[best] < 1.0:
        if kind == "statistics":
            return result("pre_post_or_observational", 0.6, [], decided=genre)
        evaluation = _EVALUATION.search(low)
        if evaluation or kind == "study":
            cue = Cue(text[evaluation.start():evaluation.end()], evaluation.start(), evaluation.end(), "unclear", 0.0,
                      "an evaluation, project or research report that names no method") if evaluation else \
                Cue("(no method named)", 0, 0, "unclear", 0.0, "the metadata says research, the text names no method")
            return result("unclear", 0.35, [cue], decided=genre if kind == "study" else None)
        research, advice, word = _research_and_advice(low)
        if research > advice and research >= 2:
            at = re.search(rf"\b{word}\b", low) if word else None
            report = Cue(text[at.start():at.end()] if at else "(research words)", at.start() if at else 0, at.end() if at else 0,
                         "unclear", 0.0, "a research report that names no method")
            return result("unclear", 0.3, [report])
        if len(text.strip()) >= DESCRIPTIVE_MIN_CHARS and not _OWN_STUDY.search(low):
            opinion = Cue("(no study, sample or findings described)", 0, 0, "guidance", 0.0, "read as expert opinion or description")
            return result("guidance", 0.35, [opinion, *kept["guidance"][:5]])
        studied = _PEOPLE_STUDIED.search(low)
        if studied:  # a study of its own, of people, naming no design and no comparison group: observational at best
            people = Cue(text[studied.start():studied.end()], studied.start(), studied.end(), "pre_post_or_observational", 0.0,
                         "a study of people with no design or comparison group named: read as observational")
            return result("pre_post_or_observational", 0.3, [people])
        return result("unclear", 0.3, [])
    if kind in ("study", "statistics") and best == "guidance" and covered:
        best = covered  # research or statistics by its metadata: the method it names, not the advice it gives
    second = ranked[1] if len(ranked) > 1 else 0.0
    confidence = round(min(0.95, 0.4 + 0.5 * (scores[best] - second) / (scores[best] + 1.0) + min(scores[best], 6) / 30), 2)
    return result(best, confidence, sorted(kept[best], key=lambda c: -c.weight), decided=genre if kind in ("study", "statistics") else None)


def _news_score(text: str, low: str, present: Container[str], positions: dict[str, list[int]] | None = None) -> tuple[float, list[Cue]]:
    score, cues = 0.0, []
    for cue_index in _NEWS_INDEX.active(present):
        compiled, weight = _COMPILED_NEWS[cue_index]
        for found in (scan(compiled, low, positions) if positions is not None else compiled.pattern.finditer(low)):
            score += weight
            cues.append(Cue(text[found.start():found.end()], found.start(), found.end(), "commentary_or_news", weight))
    return score, sorted(cues, key=lambda c: -c.weight)


_NOT_BEFORE_FINDING = _Context(r"\b(?:no|not|without|little|lack of)\b[^.]{0,25}$", re.I)
# an aim, a plan or a wish is not a finding ("aims to reduce", "will test whether it improves")
_AIM_BEFORE_FINDING = _Context(r"\b(?:aims?|aimed|aiming|intends?|intended|designed|seeks?|hopes?|hoped|will|would|plans?|in order|so as|expected) "
                                 r"(?:to |at |of |that )?(?:\w+ ){0,3}$", re.I)


@dataclass
class DirectionResult:
    """The direction of findings, the phrases behind it, and per-sentence spans for tying to interventions."""

    direction: str
    cues: list[Cue] = field(default_factory=list)
    reason: str = ""


def direction_cues(text: str, low: str | None = None, present: Container[str] | None = None,
                   positions: dict[str, list[int]] | None = None) -> list[Cue]:
    """Every direction phrase in a text; a no-effect phrase hides the positive words inside it."""
    found: list[Cue] = []
    taken: list[tuple[int, int]] = []
    low = low if low is not None else lowered(text)
    present = present if present is not None else low
    for cue_index in _DIRECTION_INDEX.active(present):  # no-effect phrases first, then negative, unclear, mixed, positive
        label, compiled = _DIRECTION_ORDER[cue_index]
        for match in (scan(compiled, low, positions) if positions is not None else compiled.pattern.finditer(low)):
            start, end = match.span()
            if end - start < 4 or not _bounded(low, start, end, check_end=False) or any(start < b and a < end for a, b in taken):
                continue
            before = _clause_before(text, start, 50)
            if label == "positive" and (_NOT_BEFORE_FINDING.search(before) or _AIM_BEFORE_FINDING.search(before)):
                continue
            taken.append((start, end))
            found.append(Cue(text[start:end].strip(), start, end, label))
    return sorted(found, key=lambda c: c.start)


def direction_of(cues: list[Cue], design: DesignResult, text: str) -> DirectionResult:
    """The direction of findings for the record as a whole, and in words why (shown by `classify --format text`)."""
    counts = {label: 0 for label in _DIRECTION_CUES}
    for cue in cues:
        counts[cue.label] += 1
    level = design.evidence_level
    findings = {k: v for k, v in counts.items() if v and k != "unclear"}
    if design.ongoing:
        return DirectionResult("not_applicable", reason="an ongoing study (protocol or registration): no results yet")
    if design.study_design == "commentary_or_news":
        if counts["unclear"]:  # news saying the evidence is lacking is about the evidence, whatever the claims it quotes
            return DirectionResult("unclear", [c for c in cues if c.label == "unclear"][:6], "news saying the evidence is lacking or unclear")
        direction = decide(findings)
        if direction:
            return DirectionResult(direction, [c for c in cues if c.label == direction or direction == "mixed"][:8],
                                   f"news reporting findings: {_counted(findings)}")
        return DirectionResult("not_applicable", reason="news or commentary reporting no finding")
    if design.study_design == "guidance":
        return DirectionResult("not_applicable", reason="guidance or opinion reports no finding of its own")
    if not any(counts.values()) and (level is None or level < 3):
        # nor does a survey or an unclassifiable text with no finding phrase at all.
        # An evaluation with a comparison group but no readable finding stays "unclear" (below).
        return DirectionResult("not_applicable", reason="no finding stated")
    if level == 1 and not re.search(r"\b(?:this|the) evaluation\b|\bevaluat(?:ed|ion) (?:of|found)", text, re.I):
        return DirectionResult("not_applicable", reason="a qualitative study that judges no intervention's effect")
    direction = decide(counts)
    if direction is None:
        return DirectionResult("unclear", reason="a study with a comparison but no finding phrase")
    reason = {"mixed": "findings in both directions" if findings.get("positive") else "findings called mixed",
              "unclear": "the text says the evidence is unclear or lacking"}.get(direction, "")
    why = f"{reason}: {_counted(counts)}" if reason else _counted(counts)
    return DirectionResult(direction, [c for c in cues if c.label == direction or direction == "mixed"][:8], why)


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {label.replace('_', '-')} phrase{'s' if n > 1 else ''}" for label, n in counts.items() if n)


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
