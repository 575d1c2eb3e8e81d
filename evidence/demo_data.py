"""The demo's recorded sources: answers in the shape of GOV.UK's search and content APIs, NICE's guidance
listing and an RSS feed, built from public facts (real titles, publishers and dates; summaries are short
paraphrases written for this project). `evidence demo` loads them into a capture store and harvests
them offline, so the whole pipeline runs with no network.
"""
from __future__ import annotations

import json
from typing import Any

from evidence.capture import CaptureStore

GOVUK_SEARCH = "https://www.gov.uk/api/search.json?q=child+sexual+exploitation&start=0&count=50"
GOVUK_CONTENT = "https://www.gov.uk/api/content"
NICE_LISTING = "https://www.nice.org.uk/guidance/published?q=child+abuse"
FEED = "https://www.communitycare.co.uk/feed/"

_GOVUK_ITEMS: list[dict[str, Any]] = [
    {
        "base_path": "/government/publications/child-sexual-exploitation-definition-and-guide-for-practitioners",
        "title": "Child sexual exploitation: definition and guide for practitioners",
        "description": "Guidance for practitioners and local leaders on the definition of child sexual exploitation, "
                       "its signs, and how to respond and work with other agencies.",
        "document_type": "guidance",
        "first_published_at": "2017-02-16T00:00:00.000+00:00",
        "organisation": "Department for Education",
        "body": "<p>This advice is for practitioners, local leaders and decision makers who work with children and families. "
                "It sets out the definition of child sexual exploitation and guidance on identifying it, and describes how "
                "multi-agency working, information sharing and disruption of perpetrators protect children. "
                "It recommends that practitioners build trusted relationships with young people and their families.</p>",
        "attachment": "https://assets.publishing.service.gov.uk/media/cse-definition-guide.pdf",
    },
    {
        "base_path": "/government/publications/child-sexual-exploitation-support-in-childrens-residential-homes",
        "title": "Child sexual exploitation: support in children's residential homes",
        "description": "Research into how children's homes support children at risk of, or affected by, child sexual exploitation.",
        "document_type": "research",
        "first_published_at": "2016-12-15T09:30:00.000+00:00",
        "organisation": "Department for Education",
        "body": "<p>The research involved interviews with staff in 10 children's homes, four of which were visited for an "
                "in-depth review. Homes described improvements in children's safety, resilience and engagement with "
                "education, but outcomes were recorded through unstructured observations, and evidence on long-term "
                "outcomes was generally lacking. Homes had developed their own risk assessment tools and worked closely "
                "with the police.</p>",
        "attachment": "https://assets.publishing.service.gov.uk/media/cse-support-residential-homes.pdf",
    },
    {
        "base_path": "/government/publications/child-sexual-exploitation-prevention-and-intervention",
        "title": "Child sexual exploitation: prevention and intervention",
        "description": "Evidence summary and framework to support local public health leaders to prevent and intervene early "
                       "in cases of child sexual exploitation.",
        "document_type": "guidance",
        "first_published_at": "2016-11-07T00:00:00.000+00:00",
        "organisation": "Public Health England",
        "body": "<p>This evidence summary brings together emerging evidence from the UK on child sexual exploitation and "
                "practice examples, to help local public health teams prevent child sexual exploitation through education "
                "and awareness sessions, and to intervene early.</p>",
        "attachment": "https://assets.publishing.service.gov.uk/media/cse-prevention-intervention.pdf",
    },
    {
        "base_path": "/government/publications/tackling-child-sexual-abuse-strategy",
        "title": "Tackling child sexual abuse strategy",
        "description": "The government's strategy to prevent, tackle and respond to all forms of child sexual abuse.",
        "document_type": "policy_paper",
        "first_published_at": "2021-01-22T00:00:00.000+00:00",
        "organisation": "Home Office",
        "body": "<p>The strategy sets out how government will work with police, local authorities and health services to "
                "tackle offending, prevent abuse and support victims and survivors, including through multi-agency "
                "partnerships, police disruption and prosecution, and therapeutic support.</p>",
        "attachment": "https://assets.publishing.service.gov.uk/media/tackling-child-sexual-abuse-strategy.pdf",
    },
]

_NICE_DOCUMENTS = [
    {"guidanceRef": "NG76", "title": "Child abuse and neglect", "url": "https://www.nice.org.uk/guidance/ng76",
     "publicationDate": "2017-10-09T12:00:00", "lastUpdated": "2017-10-09T12:00:00",
     "metaDescription": "This guideline covers recognising and responding to abuse and neglect in children and young people. "
                        "It recommends therapeutic interventions, including trauma-focused cognitive behavioural therapy, "
                        "for children and young people who have been sexually abused."},
    {"guidanceRef": "NG55", "title": "Harmful sexual behaviour among children and young people",
     "url": "https://www.nice.org.uk/guidance/ng55", "publicationDate": "2016-09-20T12:00:00", "lastUpdated": "2016-09-20T12:00:00",
     "metaDescription": "This guideline covers children and young people who display harmful sexual behaviour. It aims to "
                        "ensure these problems do not escalate, with multi-agency assessment and family support."},
]

_FEED_ITEMS = [
    {"title": "Keeping safe? An analysis of the outcomes of work with sexually exploited young people in Wales",
     "link": "https://www.healthandcareresearchwales.org/about-research-community/keeping-safe-analysis-outcomes-work-sexually-exploited-young-people-wales",
     "date": "Tue, 05 Nov 2019 09:00:00 GMT", "publisher": "Health and Care Research Wales",
     "summary": "A mixed-methods study funded by Health and Care Research Wales. The quantitative cohort analysis found that "
                "educative risk and healthy relationships work did not have a positive impact for most young people, and "
                "was in some instances associated with negative outcomes; placement moves were significantly associated "
                "with negative outcomes."},
    {"title": "Child sexual exploitation and mental health: Children's Social Care Innovation Programme Thematic Report 3",
     "link": "https://www.basw.co.uk/resources/child-sexual-exploitation-and-mental-health",
     "date": "Wed, 05 Jul 2017 09:00:00 GMT", "publisher": "The Rees Centre",
     "summary": "An overview of eight Innovation Programme evaluations using interviews and standardised measures. "
                "All presented some evidence of positive change: reduced use of high-cost services, a reduction in key "
                "CSE risk factors and an increase in protective factors, with specialist foster carers, family support, "
                "outreach and out-of-hours services; findings on standardised well-being measures were more equivocal."},
    {"title": "Alternatives to high-cost and secure accommodation for victims of child sexual exploitation in Greater Manchester",
     "link": "https://www.childrenssociety.org.uk/information/professionals/resources/alternatives-to-secure-accommodation",
     "date": "Thu, 01 Sep 2016 09:00:00 GMT", "publisher": "The Children's Society",
     "summary": "The Children's Society analysed 10 case files in Wigan and Rochdale to explore young people's journeys "
                "through social care, including secure accommodation, residential care and foster care, placement "
                "stability, family work and education."},
]


def _govuk_content(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "base_path": item["base_path"], "title": item["title"], "description": item["description"],
        "document_type": item["document_type"], "schema_name": "publication", "locale": "en",
        "first_published_at": item["first_published_at"], "public_updated_at": item["first_published_at"],
        "details": {"body": item["body"], "attachments": [
            {"attachment_type": "file", "id": "1", "title": item["title"], "url": item["attachment"], "content_type": "application/pdf"}]},
        "links": {"organisations": [{"title": item["organisation"]}]},
        "withdrawn_notice": {},
    }


def _rss() -> str:
    from xml.sax.saxutils import escape

    items = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(i['link'])}</link><pubDate>{i['date']}</pubDate>"
        f"<source url=\"{escape(i['link'])}\">{escape(i['publisher'])}</source>"
        f"<description>{escape(i['summary'])}</description></item>" for i in _FEED_ITEMS)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Research digest</title>"
            f"<link>https://www.communitycare.co.uk/</link><description>Research digest (demo)</description>{items}</channel></rss>")


def recorded_answers() -> list[tuple[str, str, bytes]]:
    """(url, content type, body) for every request the demo sources make."""
    search = {"results": [{"link": i["base_path"], "title": i["title"], "description": i["description"]} for i in _GOVUK_ITEMS],
              "total": len(_GOVUK_ITEMS), "start": 0}
    answers = [(GOVUK_SEARCH, "application/json", json.dumps(search).encode())]
    answers += [(GOVUK_CONTENT + i["base_path"], "application/json", json.dumps(_govuk_content(i)).encode()) for i in _GOVUK_ITEMS]
    listing = {"failed": False, "resultCount": len(_NICE_DOCUMENTS), "firstResult": 1, "lastResult": len(_NICE_DOCUMENTS),
               "documents": [{**d, "niceGuidanceType": ["NICE guidelines"], "niceDocType": ["Guidance"]} for d in _NICE_DOCUMENTS]}
    answers.append((NICE_LISTING, "application/json", json.dumps(listing).encode()))
    answers.append((FEED, "application/rss+xml; charset=utf-8", _rss().encode("utf-8")))
    return answers


def load_demo_captures(store: CaptureStore) -> int:
    """Put the demo's recorded answers into a capture store; returns how many."""
    answers = recorded_answers()
    for url, content_type, body in answers:
        store.put(url, body, 200, {"content-type": content_type})
    return len(answers)
