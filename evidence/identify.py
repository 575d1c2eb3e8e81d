"""Record identity: when two things a harvest reached are one document, and when they only look alike.

A title match is a candidate, never a verdict. Two candidates are one document only when nothing that tells documents
apart differs (`distinguishing`): numbers, years and ranges; editions, phases, waves and parts; single-letter or
numbered identifiers ("Child A", "Report 3"); place and organisation names (capitalised words), or any other word;
publication dates more than a year apart. Two different URLs on one site reached by one source are two documents unless
the site says one is the other (a DOI, a canonical link). True duplicates merge: the same canonical URL (tracking
parameters, case and a trailing slash aside; a #fragment names a distinct document), the same DOI, or the same title
and date reached through a copy on another site or by another source.

Similarity is rapidfuzz's (`fuzz.ratio`, `process.extractOne`), scored only within blocks (`skeleton` for merges,
one-word-deleted `neighbour_keys` for near-matches), so the cost per candidate stays flat as the catalogue grows.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rapidfuzz import fuzz

TRACKING_PARAMS = re.compile(r"^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_ga|_gl|cmpid|ito|at_medium|at_campaign)$", re.I)
MIN_TITLE_KEY_FOR_MATCH = 20  # short titles ("Annual report") never match on title alone
TITLE_SCORE = 85.0  # rapidfuzz ratio (0-100) a same-skeleton title must also reach (word order, punctuation)
NEAR_SCORE = 80.0  # what counts as a near-match worth showing a curator
MAX_DAYS_APART = 366  # publication dates further apart than this are different documents (editions, years)
BLOCK_LIMIT = 40  # candidates scored per block: a long series shares blocks, and never needs more than a few

STOPWORDS = frozenset("the a an of and for in on to with by at from or its their into about as is are be this that".split())
# words that name an edition, a part or a form of a document: a title differing by one is another document
EDITION_WORDS = frozenset(
    "edition phase wave round stage part volume vol chapter section annex appendix interim final draft update updated revised "
    "revision summary executive technical full easy read welsh cymraeg consultation response outcome addendum supplement "
    "protocol baseline follow followup pilot cohort sweep year quarter quarterly annual monthly month week data tables "
    "methodology guide guidance briefing factsheet letter transcript slides".split())
ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7", "eighth": "8",
            "ninth": "9", "tenth": "10", "ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11",
            "xii": "12", "1st": "1", "2nd": "2", "3rd": "3"}
SPELLINGS = ((re.compile(r"isation"), "ization"), (re.compile(r"ise(d|s)?$"), r"ize\1"), (re.compile(r"programme"), "program"),
             (re.compile(r"centre"), "center"), (re.compile(r"our$"), "or"), (re.compile(r"ours$"), "ors"))
PUBLISHER_HOSTS = ("gov.uk", "nice.org.uk", "nhs.uk", "gov.scot", "gov.wales", "parliament.uk", "doi.org", "gov.ie", "gov")


# -- URLs ---------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def canonical_url(url: str) -> str:
    """A URL cleaned for storage: lower-case scheme and host, no default port, tracking parameters or trailing slash;
    the #fragment is kept (items at distinct anchors of one page are distinct documents)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)))
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, query, parts.fragment))


@lru_cache(maxsize=65536)
def url_key(url: str) -> str:
    """The matching key of a URL: canonical, lower-case throughout, http and https and a leading www. alike."""
    return re.sub(r"^https?://(www\.)?", "", canonical_url(url)).lower()


def host_of(url: str) -> str:
    """The host of a URL without www."""
    return (urlsplit(url.strip()).hostname or "").lower().removeprefix("www.")


# -- titles -------------------------------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Text folded for comparing: no accents, apostrophes or case; punctuation as spaces."""
    folded = re.sub(r"['\u2019\u2018`]", "", text)
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii").casefold()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


@lru_cache(maxsize=65536)
def title_key(title: str) -> str:
    """A title folded for matching: no accents, case, punctuation or leading article."""
    return re.sub(r"^(the|a|an) ", "", fold(title))


def _word(token: str) -> str:
    token = ORDINALS.get(token, token)
    if token.isdigit():
        return str(int(token))
    for pattern, replacement in SPELLINGS:
        token = pattern.sub(replacement, token)
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        token = token[:-1]
    return token


@lru_cache(maxsize=65536)
def words(title: str) -> tuple[str, ...]:
    """The title's words as compared: folded, spellings and plurals evened, ordinals as numbers, stopwords out."""
    return tuple(_word(t) for t in fold(title).split() if t not in STOPWORDS)


def skeleton(title: str) -> str:
    """The block a title can merge within: its compared words, sorted (a merge needs them all equal)."""
    return " ".join(sorted(set(words(title))))


def neighbour_keys(title: str) -> list[str]:
    """The blocks of near-matches: the skeleton with one word left out (titles differing by one word share one)."""
    parts = sorted(set(words(title)))
    if len(parts) < 3:
        return []
    return [" ".join(parts[:i] + parts[i + 1 :]) for i in range(len(parts))]


def _capitalised(title: str) -> set[str]:
    """The compared forms of the title's capitalised words after its first (names of places, bodies, people)."""
    raw = re.findall(r"[^\W_]+", unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii"))
    return {_word(w.casefold()) for w in raw[1:] if w[:1].isupper()}


def _year_day(value: str | None) -> tuple[int, int | None] | None:
    match = re.match(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value or "")
    if not match:
        return None
    year = int(match[1])
    if match[3]:
        try:
            return year, date(year, int(match[2]), int(match[3])).toordinal()
        except ValueError:
            return year, None
    return year, None


def dates_apart(a: str | None, b: str | None) -> bool:
    """True when two publication dates are more than a year apart (years only: two or more years)."""
    ya, yb = _year_day(a), _year_day(b)
    if ya is None or yb is None:
        return False
    if ya[1] is not None and yb[1] is not None:
        return abs(ya[1] - yb[1]) > MAX_DAYS_APART
    return abs(ya[0] - yb[0]) >= 2


def _as_written(title: str, compared: set[str]) -> str:
    """The title's own words whose compared forms are in `compared` ("Kirklees", not "kirklee")."""
    raw = re.findall(r"[^\W_]+", title)
    return " ".join(dict.fromkeys(w for w in raw if _word(fold(w)) in compared)) or "-"


def _shown(tokens: set[str]) -> str:
    return " ".join(sorted(tokens)) or "-"


def distinguishing(a: str, b: str, published_a: str | None = None, published_b: str | None = None) -> str | None:
    """Why titles `a` and `b` (with their publication dates) name different documents, or None when nothing tells
    them apart. The reason names what differs, e.g. "numbers differ (2021 2022 / 2022 2023)"."""
    wa, wb = words(a), words(b)
    numbers_a = [w for w in wa if any(ch.isdigit() for ch in w)]  # in order: "Report 0-1" is not "Report 1-0"
    numbers_b = [w for w in wb if any(ch.isdigit() for ch in w)]
    if numbers_a != numbers_b:
        return f"numbers differ ({' '.join(numbers_a) or '-'} / {' '.join(numbers_b) or '-'})"
    only_a, only_b = set(wa) - set(wb), set(wb) - set(wa)
    letters = {w for w in only_a | only_b if len(w) == 1}
    if letters:
        return f"identifiers differ ({_shown({w for w in only_a if len(w) == 1})} / {_shown({w for w in only_b if len(w) == 1})})"
    editions = (only_a | only_b) & EDITION_WORDS
    if editions:
        return f"editions or parts differ ({_shown(only_a & EDITION_WORDS)} / {_shown(only_b & EDITION_WORDS)})"
    names = (only_a & _capitalised(a)) | (only_b & _capitalised(b))
    if names:
        return f"names differ ({_as_written(a, only_a & names)} / {_as_written(b, only_b & names)})"
    unpaired_a = {w for w in only_a if not any(len(w) >= 5 and fuzz.ratio(w, o) >= 85 for o in only_b)}
    unpaired_b = {w for w in only_b if not any(len(w) >= 5 and fuzz.ratio(w, o) >= 85 for o in only_a)}
    if unpaired_a or unpaired_b:
        return f"words differ ({_shown(unpaired_a)} / {_shown(unpaired_b)})"
    if dates_apart(published_a, published_b):
        return f"published more than a year apart ({published_a} / {published_b})"
    return None


def title_score(a: str, b: str) -> float:
    """rapidfuzz's similarity of two folded titles (0-100)."""
    return float(fuzz.ratio(title_key(a), title_key(b)))


# -- which place a record's fields come from ---------------------------------------------------------------------------------


def place_priority(url: str, doc_type: str | None, doi: str | None = None, relation: str = "", publisher: str | None = None,
                   published: str | None = None, summary: str | None = None) -> int:
    """How much a place is the document's own: the publisher's own site or API beats a copy, a published article its
    preprint, and news that covers it comes last. The record's fields come from its highest place (ties: `place_rank`)."""
    host = host_of(url)
    if relation == "covered_by" or doc_type == "news":
        return 10
    if doc_type == "preprint" or "/ppr/" in url.lower():
        return 20
    if any(host == h or host.endswith("." + h) for h in PUBLISHER_HOSTS):
        return 80
    if doi and doc_type in ("journal_article", None):
        return 70
    if publisher and own_site(host, publisher):
        return 65
    # among copies: a landing page (it describes the document and links its files) before a bare file, a dated and
    # summarised place before one without
    return 50 + 2 * (not urlsplit(url).path.lower().endswith(".pdf")) + bool(published) + bool(summary)


def own_site(host: str, publisher: str) -> bool:
    """Whether `host` is the publisher's own site: one of its labels is a word of the name, the name run together, or
    its initials (foundations.org.uk for "Foundations", childrenssociety.org.uk for "The Children's Society")."""
    names = [w for w in fold(publisher).split() if w not in STOPWORDS]
    if not names:
        return False
    wanted = {w for w in names if len(w) >= 4} | {"".join(names), "".join(w[0] for w in names)} - {""}
    if len(names) == 1:
        wanted.discard(names[0][0])
    labels = set(host.split(".")[:-1])
    return bool(labels & wanted)


def place_rank(priority: int, url: str, source_id: str) -> tuple[int, str, str]:
    """The order places are chosen in (smallest first): highest priority, then URL, then source, whatever the order
    sources finish in."""
    return -priority, url, source_id
