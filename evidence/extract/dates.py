"""Dates: the calendar day a publisher states, never shifted through another time zone.

`parse_date` reads ISO dates, numeric dates (2020/1/10, 10/01/2020 day first as UK publishers write them) and
written ones ("5th July 2017", "July 5, 2017", "July 2017"), keeping a bare year or year-month as given.
`local_day` reads a timestamp in the offset it was written with (or in the publisher's own zone), and
`page_date` asks htmldate, which reads a page's metadata and text, given the markup only.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, tzinfo
from typing import Any

from evidence.extract.lines import labelled_all

log = logging.getLogger(__name__)

MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\s*,?\s+((?:19|20)\d\d)\b", re.I)
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+((?:19|20)\d\d)\b", re.I)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+((?:19|20)\d\d)\b", re.I)
_ISO = re.compile(r"\b((?:19|20)\d\d)-(\d\d)(?:-(\d\d))?(?:[T ][0-9:.+\-Z]*)?\b")
_YEAR_FIRST = re.compile(r"\b((?:19|20)\d\d)[/.](\d{1,2})[/.](\d{1,2})\b")  # 2020/1/10, 2020.01.10
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.]((?:19|20)\d\d)\b")  # 10/01/2020: day first (UK)
_YEAR = re.compile(r"^\s*((?:19|20)\d\d)\s*$")
_TIMESTAMP = re.compile(r"^\s*((?:19|20)\d\d-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(Z|[+-]\d\d:?\d\d)\s*$", re.I)


def parse_date(value: Any) -> str | None:
    """An ISO date from free text, keeping a bare year or year-month as given (never invented)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    text = str(value).strip()
    if not text:
        return None
    match = _ISO.search(text)
    if match:
        year, month, day = match.groups()
        return _valid(year, month, day)
    found = [(m.start(), kind, m) for kind, pattern in (("ymd", _YEAR_FIRST), ("dmy-numeric", _DAY_MONTH_YEAR), ("dmy", _DAY_FIRST),
                                                         ("mdy", _MONTH_FIRST)) if (m := pattern.search(text))]
    if found:  # the first date the text states
        _, kind, match = min(found, key=lambda f: f[0])
        if kind == "ymd":
            return _valid(*match.groups())
        if kind == "dmy-numeric":
            day, month, year = match.groups()
            if int(month) > 12 >= int(day):  # 1/20/2020 can only be month first
                day, month = month, day
            return _valid(year, month, day)
        a, b, year = match.groups()
        day, month_name = (a, b) if kind == "dmy" else (b, a)
        return _valid(year, str(MONTHS[month_name.lower().rstrip(".")]), day)
    match = _MONTH_YEAR.search(text)
    if match:
        month_name, year = match.groups()
        return _valid(year, str(MONTHS[month_name.lower().rstrip(".")]), None)
    match = _YEAR.match(text)
    if match:
        return match.group(1)
    return None


def _valid(year: str, month: str | None, day: str | None) -> str | None:
    try:
        y, m = int(year), int(month) if month else None
        if m is None:
            return f"{y:04d}"
        if day is None:
            date(y, m, 1)
            return f"{y:04d}-{m:02d}"
        return date(y, m, int(day)).isoformat()
    except ValueError:
        return None


def local_day(value: Any, zone: tzinfo | None = None) -> str | None:
    """The calendar day of a date or timestamp as its publisher saw it.

    Without `zone`, the day as written (a timestamp's own offset is the writer's local time). With `zone`, a
    timestamp that carries an offset is read in that zone first: GOV.UK writes UTC ("2013-05-22T23:30:00Z")
    for what was 23 May in London.
    """
    if zone is not None and value:
        match = _TIMESTAMP.match(str(value))
        if match:
            day, clock, offset = match.groups()
            offset = "+00:00" if offset.upper() == "Z" else offset
            try:
                moment = datetime.fromisoformat(f"{day}T{clock}{offset}")
            except ValueError:
                return parse_date(value)
            return moment.astimezone(zone).date().isoformat()
    return parse_date(value)


def london() -> tzinfo | None:
    """Europe/London (dateutil's zone database, so no system tzdata is needed)."""
    from dateutil import tz

    return tz.gettz("Europe/London")


def page_date(markup: bytes, url: str | None = None) -> str | None:
    """The publication date htmldate finds in a page (original date, extensive search), or None.

    htmldate gets bytes, never a URL string (it would fetch one); `url` is only read for a date in its path.
    """
    if not isinstance(markup, bytes) or not markup.strip():
        return None
    from htmldate import find_date

    try:
        found = find_date(markup, original_date=True, extensive_search=True, url=url, outputformat="%Y-%m-%d")
    except Exception as exc:  # noqa: BLE001 - htmldate meets markup nobody foresaw: no date, not a lost page
        log.debug("htmldate failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None
    return found if found and re.fullmatch(r"\d{4}-\d\d-\d\d", found) else None


# -- dates stated in a text ----------------------------------------------------------------------------------------

PUBLISHED_LABELS = ("published", "date published", "publication date", "published online", "published on", "date of publication",
                    "first published")


def find_dates(lines: list[str]) -> str | None:
    """The publication date a page states in its text, in order of trust: labelled, then a dateline near the top."""
    return labelled_date(lines) or dateline(lines)


def labelled_date(lines: list[str]) -> str | None:
    """A date the text labels as the publication's ("Published: 5 July 2017", "End date 05/11/2019")."""
    for label in (PUBLISHED_LABELS, ("end date", "completed", "date completed")):
        for value in labelled_all(lines, label):
            if parse_date(value):
                return parse_date(value)
    for line in lines[:60]:
        match = re.search(r"\bpublished(?: online)?:?\s+(.*)$", line, re.I)
        if match and parse_date(match.group(1)):
            return parse_date(match.group(1))
    return None


def dateline(lines: list[str]) -> str | None:
    """A date alone on a short line near the top of the text (a dateline)."""
    for line in lines[1:12]:
        if len(line) <= 40 and parse_date(line) and not _YEAR.match(line):
            return parse_date(line)
    return None


def is_year(line: str) -> bool:
    """True for a line that is only a year ("2016")."""
    return bool(_YEAR.match(line))
