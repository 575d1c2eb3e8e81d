"""Refuse XML that declares entities (billion laughs, external entities) before any parser sees it."""
from __future__ import annotations

import re

from evidence.harvesters import SourceError

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE_SYSTEM = re.compile(rb"<!DOCTYPE[^>\[]*\b(SYSTEM|PUBLIC)\b[^>\[]*\[", re.I)


def refuse_hostile_xml(body: bytes, url: str) -> None:
    """SourceError when the document defines entities, the root of entity-expansion and XXE attacks.

    defusedxml refuses the same constructs; checking the prolog first keeps feedparser's lenient
    parsing of ill-formed (but harmless) feeds.
    """
    head = body[:65536]
    if _ENTITY_DECL.search(head) or _DOCTYPE_SYSTEM.search(head):
        try:
            import defusedxml.ElementTree as safe_et
            from defusedxml import DefusedXmlException

            safe_et.fromstring(body)
        except DefusedXmlException as exc:
            raise SourceError(f"{url}: refused: the XML declares entities ({type(exc).__name__})") from None
        except Exception:  # noqa: BLE001 - ill-formed but entity-free: leave it to feedparser
            if _ENTITY_DECL.search(head):
                raise SourceError(f"{url}: refused: the XML declares entities") from None
