"""Write the demo's recorded answers (evidence/demo/answers/) and their manifest from the facts below.

    python3 tools/make_demo_answers.py          # rewrites evidence/demo/answers/ (needs fpdf2, the `test` extra)

Every record is a real publication: its title, publisher and date are public facts, checked against the
publisher's own pages or catalogue entries (see evidence/demo/README.md). The summaries and page texts
are written for this project in our own words; no text is copied from the publications. Identifiers
(DOI, PMID) are given only where checked; a result without one simply lacks it.

The answers take the shapes of the real services: GOV.UK's search and content APIs, NICE's guidance
listing JSON (with its pager links) and guidance pages, Europe PMC's REST `core` answers (cursor paging),
RSS 2.0 and Atom feeds, a publications listing with detail pages, a digest page, a page of PDF links
with the PDFs themselves (made with fpdf2 here, stored as files), and one source recorded while its
server answered HTTP 503. The URL each answer is filed under is the URL the harvesters request.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin
from xml.sax.saxutils import escape

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "evidence" / "demo" / "answers"
MADE = datetime(2026, 12, 1, tzinfo=UTC)  # when these files were made (the PDFs' creation date)

manifest: list[dict[str, Any]] = []


def write(kind: str, name: str, url: str, body: bytes | str, content_type: str, status: int = 200) -> None:
    """Store one answer under answers/<kind>/<name> and file it in the manifest under `url`."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    path = OUT / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    manifest.append({"url": url, "file": f"{kind}/{name}", "type": content_type, "status": status})


def url_with(base: str, params: dict[str, Any]) -> str:
    """The URL a harvester requests for `base` with query `params` (as evidence.fetch builds it)."""
    return str(httpx.URL(base, params=params))


def slug(text: str, limit: int = 70) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].rstrip("-")


def paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in text.strip().split("\n\n") if p.strip())


# -- GOV.UK: search API (start/count paging), then the content API per result ---------------------

GOVUK_SEARCH = "https://www.gov.uk/api/search.json"
GOVUK_CONTENT = "https://www.gov.uk/api/content"
GOVUK_PARAMS = {"q": "child sexual exploitation"}
GOVUK_COUNT = 5

DFE = "Department for Education"
HOME_OFFICE = "Home Office"

GOVUK: list[dict[str, Any]] = [
    {"path": "/government/publications/child-sexual-exploitation-definition-and-guide-for-practitioners",
     "title": "Child sexual exploitation: definition and guide for practitioners", "type": "guidance", "schema": "publication",
     "date": "2017-02-16T09:30:00.000+00:00", "orgs": [DFE],
     "description": "Advice for practitioners, local leaders and decision makers on what child sexual exploitation is, how to recognise it and how to respond.",
     "body": """This non-statutory advice sets out the definition of child sexual exploitation used across government, who may be vulnerable to it, the signs that practitioners can look out for, and what to do when they are worried about a child or young person.

The first part is for everyone who works with children. The second is for managers and strategic leaders: it covers prevention, the role of education settings, disrupting and prosecuting perpetrators, and how agencies should share information and work together.

It replaces the 2009 guidance on safeguarding children and young people from sexual exploitation and is to be read alongside Working Together to Safeguard Children."""},
    {"path": "/government/publications/tackling-child-sexual-abuse-strategy",
     "title": "Tackling child sexual abuse strategy", "type": "policy_paper", "schema": "publication",
     "date": "2021-01-22T10:00:00.000+00:00", "orgs": [HOME_OFFICE],
     "description": "The government's strategy for preventing, tackling and responding to every form of child sexual abuse, in the family, in the community and online.",
     "body": """The strategy sets out how government departments will work with the police, local authorities, health services, schools and the voluntary sector to prevent child sexual abuse, pursue offenders and support victims and survivors.

It covers abuse within families, child sexual exploitation by individuals and by groups, and abuse online, and commits departments to collecting better data on these crimes."""},
    {"path": "/government/publications/group-based-child-sexual-exploitation-characteristics-of-offending",
     "title": "Group-based child sexual exploitation: characteristics of offending", "type": "policy_paper", "schema": "publication",
     "date": "2020-12-15T11:00:00.000+00:00", "orgs": [HOME_OFFICE],
     "description": "A Home Office paper on what is known about group-based child sexual exploitation: who offends, how offender networks operate, and the settings in which the abuse happens.",
     "body": """The paper draws on a literature review of academic research, official statistics and grey literature, on qualitative interviews, and on four police operations described as case studies. An external reference group of independent experts reviewed and challenged the work.

It concludes that the evidence on offenders' characteristics is limited and that data collection, including on ethnicity, is poor, and it sets out what the findings mean for local partners and for national policy."""},
    {"path": "/government/publications/working-together-to-safeguard-children--2",
     "title": "Working together to safeguard children 2023", "type": "statutory_guidance", "schema": "publication",
     "date": "2023-12-15T12:00:00.000+00:00", "orgs": [DFE],
     "description": "Statutory guidance on how organisations and agencies work together to help, protect and promote the welfare of children in England.",
     "body": """This statutory guidance sets out what organisations and agencies with functions relating to children must and should do to help, protect and promote the welfare of children and young people under 18 in England. The 2023 edition replaces the 2018 edition.

It adds principles for working with parents and carers, strengthens the roles of the three safeguarding partners (local authorities, health and the police), sets national multi-agency child protection standards, and covers harm outside the home, including exploitation."""},
    {"path": "/government/publications/independent-review-of-childrens-social-care-final-report",
     "title": "The independent review of children's social care: final report", "type": "independent_report", "schema": "publication",
     "date": "2022-05-23T08:00:00.000+01:00", "orgs": [DFE],
     "description": "The final report of the independent review of children's social care in England, led by Josh MacAlister, and its recommendations for reform.",
     "body": """The review listened to children, parents, care-experienced adults and the people who work in children's social care, and concludes that the system needs a reset: more help for families before they reach crisis, a more decisive child protection response, more support for kinship carers and wider family networks, and loving, stable homes for children in care.

Without reform, the report warns, there will be approaching 100,000 children in care by the early 2030s and the annual cost of the system will pass £15 billion. It calls for £2.6 billion of investment to put its recommendations into practice."""},
    {"path": "/government/consultations/childrens-social-care-stable-homes-built-on-love",
     "title": "Stable Homes, Built on Love: implementation strategy and consultation", "type": "closed_consultation", "schema": "consultation",
     "date": "2023-02-02T09:30:00.000+00:00", "orgs": [DFE],
     "description": "The government's strategy for reforming children's social care in England, in response to three independent reviews, with a consultation on a national framework and dashboard.",
     "body": """The strategy responds to the independent review of children's social care, the Child Safeguarding Practice Review Panel's national review following the murders of two children, and the Competition and Markets Authority's study of the placements market.

It sets out reform under six pillars: family help, child protection, family networks, children in care, the social work workforce, and a system that learns from evidence and data. The government will invest £200 million over the next two years, including over £45 million for a Families First for Children Pathfinder in up to 12 local areas."""},
    {"path": "/government/news/pm-to-clamp-down-on-grooming-gangs",
     "title": "PM to clamp down on Grooming Gangs", "type": "press_release", "schema": "news_article",
     "date": "2023-04-03T00:01:00.000+01:00", "orgs": ["Prime Minister's Office, 10 Downing Street", HOME_OFFICE],
     "description": "A new Grooming Gangs Taskforce of specialist officers will help police forces with child sexual exploitation investigations, the Prime Minister announced.",
     "body": """The Prime Minister announced a Grooming Gangs Taskforce, led by the police and supported by the National Crime Agency, which will send specialist officers to help forces with live child sexual exploitation and grooming investigations.

Data analysts will work alongside the taskforce, and the government said better data would be collected on offenders, including their ethnicity. The Prime Minister was to meet survivors and local police partners in Leeds and Greater Manchester."""},
    {"path": "/government/statistics/reported-road-casualties-great-britain-annual-report-2022",
     "title": "Reported road casualties Great Britain, annual report: 2022", "type": "official_statistics", "schema": "publication",
     "date": "2023-09-28T09:30:00.000+01:00", "orgs": ["Department for Transport"],
     "description": "Final figures on personal injury road collisions and the casualties in them reported to the police in Great Britain in 2022.",
     "body": """This statistical release counts the people killed or injured in road traffic collisions that the police reported through the STATS19 system in Great Britain in 2022.

There were an estimated 1,711 road deaths and 29,742 people killed or seriously injured, 2% and 3% fewer than in 2019, the last year before the pandemic. Vehicle traffic returned to its 2019 level, and pedestrian deaths showed the largest fall compared with 2019."""},
    {"path": "/government/publications/adoption-and-fostering-understanding-attitudes-motivations-and-barriers",
     "title": "Adoption and fostering: understanding motivations and barriers", "type": "research", "schema": "publication",
     "date": "2013-03-01T00:00:00.000+00:00", "orgs": [DFE],
     "description": "Market research for the Department for Education on what draws people to adopt or foster children, and what holds them back.",
     "body": """The Department for Education commissioned this research to understand why people consider adopting or fostering and what stops them, and so the likely pool of adopters and foster carers in England.

Kindred and Work Research carried out 18 extended interviews with individuals and couples and an online survey of 4,948 adults living in England."""},
]


def govuk() -> None:
    results = []
    for item in GOVUK:
        results.append({
            "link": item["path"], "title": item["title"], "description": item["description"],
            "format": item["type"], "display_type": item["type"].replace("_", " ").capitalize(),
            "public_timestamp": item["date"], "organisations": [{"title": org} for org in item["orgs"]],
            "index": "government", "document_type": "edition",
        })
        content = {
            "base_path": item["path"], "content_id": None, "document_type": item["type"], "schema_name": item["schema"],
            "title": item["title"], "description": item["description"], "locale": "en", "phase": "live",
            "first_published_at": item["date"], "public_updated_at": item["date"],
            "details": {"body": f'<div class="govspeak">{paragraphs(item["body"])}</div>', "attachments": [],
                        "change_history": [{"public_timestamp": item["date"], "note": "First published."}]},
            "links": {"organisations": [{"title": org, "document_type": "organisation"} for org in item["orgs"]],
                      "primary_publishing_organisation": [{"title": item["orgs"][0], "document_type": "organisation"}]},
            "withdrawn_notice": {},
        }
        write("govuk", f"content/{item['path'].rsplit('/', 1)[-1]}.json", GOVUK_CONTENT + quote(item["path"]),
              json.dumps(content, indent=1, ensure_ascii=False), "application/json; charset=utf-8")
    for start in range(0, len(results), GOVUK_COUNT):
        page = {"results": results[start:start + GOVUK_COUNT], "total": len(results), "start": start,
                "aggregates": {}, "suggested_queries": []}
        url = url_with(GOVUK_SEARCH, {**GOVUK_PARAMS, "start": start, "count": GOVUK_COUNT})
        write("govuk", f"search-start-{start}.json", url, json.dumps(page, indent=1, ensure_ascii=False), "application/json; charset=utf-8")


# -- NICE: the guidance listing JSON (pager links), then each guidance page -------------------------

NICE_LISTING = "https://www.nice.org.uk/guidance/published"
NICE_PARAMS = {"q": "children", "ndt": "Guidance", "ps": 2}

NICE: list[dict[str, Any]] = [
    {"ref": "NG205", "title": "Looked-after children and young people", "date": "2021-10-20T12:00:00",
     "overview": """This guideline is about how organisations, practitioners and carers can work together so that looked-after children and young people get high-quality care, stable placements and nurturing relationships, and care leavers get the support they need.

It covers assessment and planning, placement stability, contact with birth families, support for carers, education, health and mental health, and the move to independent living."""},
    {"ref": "NG76", "title": "Child abuse and neglect", "date": "2017-10-09T12:00:00",
     "overview": """This guideline is about recognising and responding to abuse and neglect in children and young people under 18, including sexual abuse and child sexual exploitation. It is for anyone whose work brings them into contact with children, and for practitioners who assess risk and need or provide early help.

It recommends what to do when there are concerns, how to assess them, and which therapeutic interventions to offer children and young people who have been abused, including trauma-focused cognitive behavioural therapy after sexual abuse."""},
    {"ref": "NG55", "title": "Harmful sexual behaviour among children and young people", "date": "2016-09-20T12:00:00",
     "overview": """This guideline is about children and young people who display harmful sexual behaviour, including those on remand or serving sentences. It aims to stop the behaviour escalating and to make sure no one is referred to specialist services without need.

It recommends multi-agency working, early help assessment, risk assessment by specialist services, engaging families and carers, and developmentally appropriate interventions."""},
]


def nice() -> None:
    size = NICE_PARAMS["ps"]
    pages = [NICE[i:i + size] for i in range(0, len(NICE), size)]
    for number, docs in enumerate(pages, start=1):
        documents = []
        for doc in docs:
            url = f"https://www.nice.org.uk/guidance/{doc['ref'].lower()}"
            documents.append({
                "id": None, "guidanceRef": doc["ref"], "title": doc["title"], "titleNoHtml": None, "abstract": None,
                "metaDescription": None, "teaser": doc["ref"], "niceDocType": ["Guidance"], "niceGuidanceType": ["NICE guidelines"],
                "guidanceStatus": ["Published"], "evidenceTypes": ["Guidance"], "pathAndQuery": f"/guidance/{doc['ref'].lower()}",
                "publicationDate": doc["date"], "lastUpdated": doc["date"], "url": url, "sourceUrl": url, "contentId": url,
            })
            page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Overview | {html.escape(doc['title'])} | Guidance | NICE</title>"
                    f"<meta name='description' content='{html.escape(doc['overview'].split(chr(10))[0])}'>"
                    f"<meta property='og:site_name' content='NICE'></head><body><header><nav><a href='/'>NICE</a></nav></header><main>"
                    f"<h1>{html.escape(doc['title'])}</h1><p>NICE guideline [{doc['ref']}] Published: {datetime.fromisoformat(doc['date']):%d %B %Y}</p>"
                    f"<h2>Overview</h2>{paragraphs(doc['overview'])}</main><footer>National Institute for Health and Care Excellence</footer></body></html>")
            write("nice", f"{doc['ref'].lower()}.html", url, page, "text/html; charset=utf-8")
        next_link = {"pa": number + 1, "fullUrl": pages_next_url(number + 1)} if number < len(pages) else None
        listing = {
            "debug": None, "failed": False, "errorMessage": None, "resultCount": len(NICE), "rolledUpCount": len(NICE),
            "unrolledCount": len(NICE), "documents": documents, "pageSize": size,
            "firstResult": (number - 1) * size + 1, "lastResult": (number - 1) * size + len(docs),
            "pagerLinks": {"previous": None, "first": None, "pages": [], "next": next_link},
            "finalSearchText": NICE_PARAMS["q"], "navigators": [],
        }
        url = url_with(NICE_LISTING, NICE_PARAMS) if number == 1 else urljoin(NICE_LISTING, pages_next_url(number))
        write("nice", f"listing-page-{number}.json", url, json.dumps(listing, indent=1), "application/json; charset=utf-8")


def pages_next_url(number: int) -> str:
    """The pager link NICE gives on page `number - 1` for page `number` (relative, as NICE writes it)."""
    return "/guidance/published?" + str(httpx.QueryParams({"pa": number, **NICE_PARAMS}))


# -- Europe PMC: REST search, resultType=core, cursor paging -----------------------------------------

EUROPEPMC = "https://www.ebi.ac.uk/europepmc/webservices/rest/search"
EUROPEPMC_QUERY = '("sexual exploitation" OR "sexual abuse" OR "social care") AND (trial OR "systematic review")'
EUROPEPMC_PAGE = 2

EUROPEPMC_RESULTS: list[dict[str, Any]] = [
    {"title": "A randomized controlled trial of trauma-focused cognitive behavioral therapy for sexually exploited, war-affected Congolese girls.",
     "authors": ["O'Callaghan P", "McMullen J", "Shannon C", "Rafferty H", "Black A"],
     "journal": "Journal of the American Academy of Child and Adolescent Psychiatry", "volume": "52", "issue": "4", "pages": "359-369",
     "year": 2013, "month": 4, "doi": "10.1016/j.jaac.2013.01.013", "types": ["Randomized Controlled Trial", "Journal Article"],
     "abstract": """OBJECTIVE: To find out whether group trauma-focused cognitive behavioural therapy (TF-CBT), delivered by trained facilitators without clinical qualifications, reduces post-traumatic stress and psychosocial difficulties among war-affected girls in the Democratic Republic of Congo who had experienced sexual exploitation or sexual violence. METHOD: In a single-blind randomised controlled trial, 52 girls aged 12 to 17 were randomly allocated to a 15-session, culturally adapted group TF-CBT programme (n = 24) or to a wait-list control group (n = 28); the analysis was by intention to treat. RESULTS: Compared with the wait-list group, girls who received TF-CBT had significantly greater reductions in trauma symptoms, and significant improvements in depression and anxiety, conduct problems and prosocial behaviour. CONCLUSIONS: A culturally adapted group intervention delivered by non-clinicians was effective in reducing post-traumatic stress and psychosocial difficulties among sexually exploited, war-affected girls."""},
    {"title": "School-based education programmes for the prevention of child sexual abuse.",
     "authors": ["Walsh K", "Zwi K", "Woolfenden S", "Shlonsky A"],
     "journal": "The Cochrane Database of Systematic Reviews", "volume": None, "issue": "4", "pages": "CD004380",
     "year": 2015, "month": 4, "first": "2015-04-16", "doi": "10.1002/14651858.CD004380.pub3",
     "types": ["Systematic Review", "Review", "Journal Article"],
     "abstract": """BACKGROUND: School-based education programmes are the most widely used way of trying to prevent child sexual abuse, and their effectiveness needs continuing scrutiny. OBJECTIVES: To assess whether these programmes improve children's protective behaviours and their knowledge of sexual abuse prevention, whether what is learnt is retained, and whether taking part leads to disclosures of abuse or causes harm. SEARCH METHODS: We searched CENTRAL, MEDLINE, Embase and 11 other databases in September 2014, two trials registers and the reference lists of earlier reviews. SELECTION CRITERIA: Randomised, cluster-randomised and quasi-randomised trials of school-based education programmes compared with another intervention or with none. MAIN RESULTS: 24 trials with 5,802 participants were included. Children who took part showed improvements in protective behaviours and in knowledge of sexual abuse prevention; knowledge did not deteriorate over time, and taking part did not increase or decrease children's anxiety or fear. AUTHORS' CONCLUSIONS: The programmes improved protective behaviours and knowledge; studies with longer follow-up are needed to show whether they prevent abuse."""},
    {"title": "Shifting Boundaries: an experimental evaluation of a dating violence prevention program in middle schools.",
     "authors": ["Taylor BG", "Stein ND", "Mumford EA", "Woods D"],
     "journal": "Prevention Science", "volume": "14", "issue": "1", "pages": "64-76", "year": 2013, "month": 2,
     "doi": "10.1007/s11121-012-0293-2", "types": ["Randomized Controlled Trial", "Journal Article"],
     "abstract": """Thirty public middle schools in New York City were randomly assigned to one of two school-based prevention programmes (a classroom curriculum or a school-building intervention), to both, or to neither, and over 2,500 sixth and seventh grade students in 117 classes took part. The classroom curriculum covered the laws and consequences of dating violence and sexual harassment, gender roles and healthy relationships; the building intervention used school-based restraining orders, more staff presence in places students had mapped as unsafe, and posters to raise awareness and encourage reporting. Students were surveyed at baseline, straight after the intervention and six months later. The building-only and combined interventions were effective in reducing sexual violence victimisation by peers and dating partners at six months, while the classroom curriculum alone was not. Because the building intervention needs few extra resources, schools can adopt it at little cost."""},
    {"title": "The SWIS trial: Protocol of a pragmatic cluster randomised controlled trial of school based social work.",
     "authors": ["Westlake D", "Pallmann P", "Lugg-Widger F", "Forrester D", "Petrou S", "Daher S", "Adara L", "Cook L",
                 "Munnery K", "Bennett V", "Smith P", "White J"],
     "journal": "PloS one", "volume": "17", "issue": "6", "pages": "e0265354", "year": 2022, "month": 6, "first": "2022-06-09",
     "doi": "10.1371/journal.pone.0265354", "pmid": "35679281", "pmcid": "PMC9182565",
     "types": ["Clinical Trial Protocol", "Journal Article"],
     "abstract": """BACKGROUND: In the UK, child and family social workers are usually based in local authority offices. This protocol describes a trial of placing social workers in secondary schools (SWIS), which follows three pilot studies that found the approach promising. METHODS: A two-arm pragmatic cluster randomised controlled trial in which around 280 mainstream secondary schools in England will be randomly allocated in a 1:1 ratio to have a social worker or to carry on as usual. The primary outcome will be the rate of child protection (section 47) enquiries; secondary outcomes will be referrals to children's social care, section 17 assessments, days spent in care, and school attendance and attainment. The trial also includes an economic evaluation and an implementation and process evaluation. TRIAL REGISTRATION: ISRCTN90922032."""},
]


def europepmc() -> None:
    base_params = {"resultType": "core", "format": "json", "pageSize": EUROPEPMC_PAGE, "query": EUROPEPMC_QUERY}
    cursors = ["*", "AoIIP4AAACg0MjY0NzcxNQ==", "AoIIP4AAACg5OTk5OTk5OQ=="]
    pages = [EUROPEPMC_RESULTS[i:i + EUROPEPMC_PAGE] for i in range(0, len(EUROPEPMC_RESULTS), EUROPEPMC_PAGE)] + [[]]
    for number, (cursor, results) in enumerate(zip(cursors, pages, strict=True), start=1):
        out = []
        for r in results:
            result: dict[str, Any] = {
                "title": r["title"], "authorString": ", ".join(r["authors"]) + ".",
                "authorList": {"author": [{"fullName": a, "lastName": a.rsplit(" ", 1)[0], "initials": a.rsplit(" ", 1)[1]} for a in r["authors"]]},
                "journalInfo": {"issue": r["issue"], "volume": r["volume"], "yearOfPublication": r["year"], "monthOfPublication": r["month"],
                                "dateOfPublication": f"{r['year']} {datetime(2000, r['month'], 1):%b}",
                                "journal": {"title": r["journal"]}},
                "pubYear": str(r["year"]), "pageInfo": r["pages"], "abstractText": r["abstract"], "language": "eng",
                "pubTypeList": {"pubType": r["types"]}, "doi": r["doi"], "isOpenAccess": "N", "inEPMC": "N", "hasPDF": "N",
            }
            if r.get("pmid"):
                result.update({"id": r["pmid"], "source": "MED", "pmid": r["pmid"], "pmcid": r.get("pmcid")})
            if r.get("first"):
                result["firstPublicationDate"] = r["first"]
            out.append({k: v for k, v in result.items() if v is not None})
        answer = {"version": "6.9", "hitCount": len(EUROPEPMC_RESULTS), "request": {
            "queryString": EUROPEPMC_QUERY, "resultType": "core", "cursorMark": cursor, "pageSize": EUROPEPMC_PAGE, "sort": "", "synonym": False},
            "resultList": {"result": out}}
        if number < len(cursors):
            answer["nextCursorMark"] = cursors[number]
        else:
            answer["nextCursorMark"] = cursor  # the end: Europe PMC hands back the same cursor
        write("europepmc", f"search-page-{number}.json", url_with(EUROPEPMC, {**base_params, "cursorMark": cursor}),
              json.dumps(answer, indent=1, ensure_ascii=False), "application/json;charset=UTF-8")


# -- Feeds: RSS 2.0 (a trade-press feed, a mixed-publisher research digest) and Atom (a blog) ----------

TRADE_FEED = "https://www.communitycare.co.uk/feed/"
DIGEST_FEED = "https://www.researchinpractice.org.uk/children/news-views/research-digest/rss/"
BLOG_FEED = "https://whatworks-csc.org.uk/blog/feed/atom/"

TRADE: list[dict[str, Any]] = [
    {"title": "No evidence scheme placing social workers in schools reduces need for social care, says What Works",
     "link": "https://www.communitycare.co.uk/2023/03/30/no-evidence-scheme-placing-social-workers-in-schools-reduces-need-for-social-care-says-what-works/",
     "date": "Thu, 30 Mar 2023 11:45:00 +0100", "categories": ["Children", "Research"],
     "summary": """One of the largest randomised controlled trials carried out in children's social care has found no statistically significant difference in outcomes between secondary schools given a social worker and schools without one, What Works for Early Intervention and Children's Social Care said today. The trial ran through the 2020-21 and 2021-22 school years and its primary outcome was the rate of section 47 child protection enquiries. The centre's director of policy and practice said that, given the cost of the scheme and the lack of evidence that it works, the model should not be continued or rolled out further."""},
    {"title": "Government changes statutory definition of child sexual exploitation",
     "link": "https://www.communitycare.co.uk/2017/02/16/government-changes-statutory-definition-child-sexual-exploitation/",
     "date": "Thu, 16 Feb 2017 15:20:00 +0000", "categories": ["Children", "Child sexual exploitation"],
     "summary": """The government has changed the statutory definition of child sexual exploitation, saying the previous version was unclear and out of date, and the Department for Education has published a new guide for practitioners alongside updated safeguarding guidance. Ministers also announced a £7.5 million Centre of Expertise on Child Sexual Abuse, to be independent of government, and published a progress report on the national effort to tackle child sexual exploitation."""},
]

DIGEST: list[dict[str, Any]] = [
    {"title": "Keeping safe? An analysis of the outcomes of work with sexually exploited young people in Wales",
     "link": "https://www.healthandcareresearchwales.org/about-research-community/keeping-safe-analysis-outcomes-work-sexually-exploited-young-people-wales",
     "date": "Tue, 05 Nov 2019 09:00:00 +0000", "publisher": "Health and Care Research Wales",
     "summary": """End-of-project summary of a mixed-methods study funded by Health and Care Research Wales. The quantitative analysis of a cohort of young people known to children's social care found that educative risk work and healthy relationships work did not have a positive impact for most of the young people who received it, and in some cases was associated with negative outcomes; placement moves were associated with negative outcomes too. None of the risk-taking behaviours examined was significantly associated with child sexual exploitation. The researchers suggest such work should happen within a trusted relationship and alongside other support."""},
    {"title": "Child sexual exploitation and mental health: Children's Social Care Innovation Programme Thematic Report 3",
     "link": "https://www.basw.co.uk/resources/child-sexual-exploitation-and-mental-health",
     "date": "Wed, 05 Jul 2017 09:00:00 +0100", "publisher": "The Rees Centre",
     "summary": """An overview of eight Innovation Programme projects for young people experiencing, or at risk of, child sexual exploitation or mental health difficulties, including residential alternatives to secure accommodation, specialist foster carers, outreach and out-of-hours support for families. Every evaluation, drawing on interviews and standardised measures, reported some evidence of positive change: less use of high-cost services in six projects, and fewer CSE risk factors with more protective factors in all four CSE projects. Results on standardised well-being measures were more equivocal. One CSE project reported potential annual benefits of over £1.6m."""},
    {"title": "'Lack of evidence' on effectiveness of care home CSE support",
     "link": "https://www.cypnow.co.uk/content/news/lack-of-evidence-on-effectiveness-of-care-home-cse-support",
     "date": "Wed, 04 Jan 2017 10:00:00 +0000", "publisher": "CYP Now",
     "summary": """Children's homes supporting young people affected by child sexual exploitation cannot back up their claims of success with robust evidence, a Department for Education report has found, Joe Lepper reports. Researchers interviewed staff in 10 homes, who described improvements in children's safety, resilience and education, but progress was mostly judged from unstructured observations by staff and no home collected outcome data after children left."""},
    {"title": "Multidimensional Treatment Foster Care for Adolescents in English care: randomised trial and observational cohort evaluation",
     "link": "https://www.cambridge.org/core/journals/the-british-journal-of-psychiatry/article/multidimensional-treatment-foster-care-for-adolescents-in-english-care-randomised-trial-and-observational-cohort-evaluation/A68FEE7B0EC9A4F6ACC5C972DAD9BC7C",
     "date": "Sat, 01 Mar 2014 00:00:00 +0000", "publisher": "The British Journal of Psychiatry",
     "summary": """A two-arm randomised controlled trial, with assessors blind to allocation, embedded in an observational case-control study, compared Multidimensional Treatment Foster Care for Adolescents (MTFC-A) with usual care for 219 young people aged 11 to 16 in care in England whose placements were unstable or who had serious emotional or behavioural difficulties. The primary outcome was the Children's Global Assessment Scale; secondary outcomes were school attendance, achievement and offending. There was no significant difference in the primary outcome in the randomised cohort (n = 34) or the observational cohort (n = 185), and no significant effects on the secondary outcomes: the authors found no evidence that MTFC-A led to better outcomes than usual care, though it may help young people with antisocial behaviour more than others."""},
]

BLOG: list[dict[str, Any]] = [
    {"title": "Social Workers in Schools: why we are not recommending investment",
     "link": "https://whatworks-csc.org.uk/blog/social-workers-in-schools-why-we-are-not-recommending-investment/",
     "date": "2023-03-30T09:00:00+01:00", "author": "Donna Molloy",
     "summary": """Our director of policy and practice explains why we are not recommending further investment in Social Workers in Schools. Teachers and social workers valued having a social worker in school, but our randomised controlled trial, published today, found no evidence that the approach safely reduces the need for children's social care services. We think decisions about how money is spent on protecting children should rest on evidence of impact, so the model tested should not be rolled out further; we will keep looking for approaches that do help."""},
]


def rss(title: str, link: str, description: str, items: list[dict[str, Any]], with_source: bool) -> str:
    entries = []
    for item in items:
        source = (f"<source url=\"{escape(item['link'])}\">{escape(item['publisher'])}</source>" if with_source else "")
        categories = "".join(f"<category>{escape(c)}</category>" for c in item.get("categories", []))
        entries.append(f"<item><title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>"
                       f"<guid isPermaLink=\"true\">{escape(item['link'])}</guid><pubDate>{item['date']}</pubDate>{categories}{source}"
                       f"<description>{escape(item['summary'])}</description></item>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>{escape(title)}</title><link>{escape(link)}</link>"
            f"<description>{escape(description)}</description><language>en-GB</language>\n" + "\n".join(entries) + "\n</channel></rss>\n")


def feeds() -> None:
    write("feed", "communitycare.rss", TRADE_FEED, rss("Community Care", "https://www.communitycare.co.uk", "News for social workers", TRADE, False),
          "application/rss+xml; charset=UTF-8")
    write("feed", "research-digest.rss", DIGEST_FEED,
          rss("Research digest: child exploitation and children's social care", "https://www.researchinpractice.org.uk/",
              "New research, reviews and news, each from its own publisher", DIGEST, True), "application/rss+xml; charset=UTF-8")
    entries = "".join(
        f"<entry><title>{escape(e['title'])}</title><link rel=\"alternate\" href=\"{escape(e['link'])}\"/><id>{escape(e['link'])}</id>"
        f"<published>{e['date']}</published><updated>{e['date']}</updated><author><name>{escape(e['author'])}</name></author>"
        f"<summary type=\"text\">{escape(e['summary'])}</summary></entry>" for e in BLOG)
    atom = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en-GB\">"
            "<title>What Works for Early Intervention and Children's Social Care: blog</title>"
            f"<link rel=\"self\" href=\"{BLOG_FEED}\"/><link rel=\"alternate\" href=\"https://whatworks-csc.org.uk/blog/\"/>"
            f"<id>{BLOG_FEED}</id><updated>{BLOG[0]['date']}</updated>{entries}</feed>\n")
    write("feed", "whatworks-blog.atom", BLOG_FEED, atom, "application/atom+xml; charset=UTF-8")


# -- HTML: a publications listing (two pages) with detail pages, and a digest page --------------------

LISTING = "https://foundations.org.uk/our-work/publications"
LISTING_PAGE_SIZE = 4
WWCSC = "What Works for Children's Social Care"

PUBLICATIONS: list[dict[str, Any]] = [
    {"slug": "social-workers-in-schools-trial", "title": "Social Workers in Schools trial",
     "publisher": "What Works for Early Intervention and Children's Social Care", "date": "2023-03-30", "shown": "30 March 2023",
     "authors": ["David Westlake", "Philip Pallmann", "Fiona Lugg-Widger"], "kind": "Trial report",
     "summary": "A pragmatic cluster randomised controlled trial of placing social workers in secondary schools, in 21 local authorities in England.",
     "body": """Social Workers in Schools (SWIS) places social workers in secondary schools to do statutory work with children and families, aiming to reduce safely the need for children's social care services. After three pilot studies, the Department for Education funded a scale-up, and we worked with CASCADE at Cardiff University to run a pragmatic cluster randomised controlled trial in 21 local authorities in England, involving around 280,000 pupils in 291 schools.

The trial had three parts: an implementation and process evaluation, an impact evaluation comparing schools randomly allocated a social worker with schools that carried on as usual, and an economic evaluation.

Findings: SWIS was well received by school staff, social workers and pupils, but it did not reduce the rate of section 47 child protection enquiries, the primary outcome, and there was no statistically significant difference in the secondary outcomes, including referrals and children entering care. Given its cost and the absence of impact, we do not recommend that the model tested is continued or rolled out further."""},
    {"slug": "social-workers-in-schools-an-evaluation-of-pilots-in-three-local-authorities-in-england",
     "title": "Social workers in schools: an evaluation of pilots in three local authorities in England",
     "publisher": WWCSC, "date": "2020-05", "shown": "May 2020", "authors": ["David Westlake", "Donald Forrester"], "kind": "Pilot evaluation",
     "summary": "Three pilots of social workers based in secondary schools, in Lambeth, Southampton and Stockport, evaluated with matched comparison schools.",
     "body": """This report brings together the evaluations of three pilots in Lambeth, Southampton and Stockport, in which social workers were based in secondary schools during the 2018-19 school year.

CASCADE at Cardiff University combined interviews and observations of practice with a quasi-experimental comparison of administrative data: pilot schools were compared with matched comparison schools, chosen for their pupil numbers, level of need and past trends in referrals.

The pilots were well received by schools, social workers and families, and the comparison with matched schools showed evidence of promise for reducing referrals, which led to the recommendation to test the approach in a larger randomised trial. The Lambeth pilot was funded with a grant of £374k."""},
    {"slug": "strengthening-families-protecting-children-family-safeguarding",
     "title": "Strengthening Families, Protecting Children: Family Safeguarding pilot evaluation report",
     "publisher": WWCSC, "date": "2021-06", "shown": "June 2021", "authors": [], "kind": "Pilot evaluation",
     "summary": "Early implementation of the Family Safeguarding model in Cambridgeshire, studied through interviews, focus groups, a staff survey and observations.",
     "body": """This pilot evaluation looks at the early roll-out of the Family Safeguarding model in Cambridgeshire, commissioned by the Department for Education as part of the Strengthening Families, Protecting Children programme. Family Safeguarding brings specialist adult practitioners in domestic abuse, mental health and substance misuse into children's safeguarding teams, with motivational interviewing and a structured workbook for assessment.

The evaluators interviewed staff and families, held focus groups, surveyed staff and observed practice. Many parts of the model were put in place as planned during the pandemic; staff and families were mostly positive, and recruiting mental health practitioners was hard.

The benefits staff and families described, such as families engaging better and less drift and delay, are anecdotal and are not evidence of impact."""},
    {"slug": "what-interventions-improve-outcomes-for-kinship-carers-and-the-children-in-their-care",
     "title": "What interventions improve outcomes for kinship carers and the children in their care?",
     "publisher": "Foundations", "date": "2024-10", "shown": "October 2024", "authors": ["Eleanor Ott", "Amy Hall", "India Thompson"],
     "kind": "Systematic review",
     "summary": "A systematic review, by the Centre for Evidence and Implementation, of evaluations of interventions for kinship carers and the children they raise.",
     "body": """This systematic review, carried out by the Centre for Evidence and Implementation for Foundations, searched databases and grey literature for evaluations of interventions for kinship carers and the children in their care, screened the studies against inclusion criteria and assessed their risk of bias.

It sets out what the included studies show about outcomes for carers and for children, and where the evidence is thin, and it underpins the recommendations of Foundations' kinship care practice guide."""},
    {"slug": "the-impact-of-mentoring-and-befriending-practice-and-interventions",
     "title": "The impact of mentoring and befriending practice and interventions for 'at risk' and care-experienced children and young people",
     "publisher": "Foundations", "date": "2025-04", "shown": "April 2025", "authors": ["Lisa Jones"], "kind": "Systematic review",
     "summary": "A mixed-methods systematic review of mentoring and befriending for children and young people at risk and those with care experience.",
     "body": """This mixed-methods systematic review for Foundations brings together impact evaluations of mentoring and befriending for children and young people at risk and for those with care experience, and qualitative studies of how young people and their mentors experience these relationships.

It searched for studies systematically, appraised the included studies, and reports which kinds of mentoring and befriending have evidence of benefit and what helps relationships to work."""},
    {"slug": "evaluation-of-multi-agency-safeguarding-hubs",
     "title": "Evaluation of multi-agency safeguarding hubs (MASH)",
     "publisher": "Foundations", "date": "2025-06", "shown": "June 2025",
     "authors": ["Rocio Mendez Pineda", "Claire Smiles", "Simon Barrett", "Hayley Alderson"], "kind": "Implementation and process evaluation",
     "summary": "An implementation and process evaluation of multi-agency safeguarding hubs at the front door of children's social care.",
     "body": """This implementation and process evaluation, commissioned by Foundations and carried out by University College London and Newcastle University, explores how multi-agency safeguarding hubs work at the front door of children's social care: how partners share information, decide what happens to referrals and work together.

It draws on qualitative research with hub staff and partner agencies and sets out implications for policy and practice."""},
    {"slug": "understanding-the-variation-in-support-for-kinship-carers",
     "title": "Understanding the variation in support for kinship carers",
     "publisher": "Foundations", "date": "2023-10", "shown": "October 2023", "authors": [], "kind": "Report",
     "summary": "A survey of local authorities in England on the support they give kinship carers, funded by the Evaluation Task Force.",
     "body": """This report presents a survey of local authorities in England, funded by the Evaluation Task Force, on the support councils give to kinship carers and how much it varies from one area to another.

It describes the survey returns and what the variation means for future evaluation of kinship support."""},
    {"slug": "improving-the-effectiveness-of-the-child-protection-system-overview",
     "title": "Improving the effectiveness of the child protection system: overview",
     "publisher": "Early Intervention Foundation", "date": "2017-06", "shown": "June 2017",
     "authors": ["Donna Molloy", "Steve Barton", "Lucy Brims"], "kind": "Overview report",
     "summary": "An overview, with the Local Government Association, of five commissioned research papers on improving the child protection system.",
     "body": """This overview report from the Early Intervention Foundation, produced with the Local Government Association, draws together five research papers commissioned for the project, including work by the University of Oxford, Research in Practice and the NSPCC.

It summarises what the papers say about how local areas can make the child protection system more effective, and what leaders should consider."""},
]

DIGEST_PAGE = "https://www.csacentre.org.uk/research-resources/research-digest/"
DIGEST_ITEMS: list[dict[str, Any]] = [
    {"title": "Independent Inquiry into Child Sexual Exploitation in Rotherham (1997 - 2013)",
     "byline": "Rotherham Metropolitan Borough Council | 26 August 2014", "date": "2014-08-26",
     "summary": "Professor Alexis Jay's report of the independent inquiry commissioned by the council. The inquiry team read a sample of case files and interviewed people who had worked in or with local services; it estimated that around 1,400 children had been sexually exploited in Rotherham over the period, and found that the council and the police had repeatedly failed to act on what they knew."},
    {"title": "The Report of the Independent Inquiry into Child Sexual Abuse",
     "byline": "IICSA | October 2022", "date": "2022-10",
     "summary": "The final report of the Independent Inquiry into Child Sexual Abuse in England and Wales. It sets out the inquiry's conclusions from its 15 investigations and recommends a national child protection authority, mandatory reporting of child sexual abuse, and a redress scheme for victims and survivors."},
    {"title": "Stability Index 2019: overview report",
     "byline": "Children's Commissioner for England | August 2019", "date": "2019-08",
     "summary": "The Children's Commissioner's annual index of stability for children in care in England, built from an analysis of administrative data on placement moves, school moves and changes of social worker, and reported for every local authority."},
    {"title": "NICE issues guidance on inappropriate sexual behaviour in children",
     "byline": "NICE | September 2016", "date": "2016-09",
     "summary": "NICE has published its first guideline on harmful sexual behaviour among children and young people, covering early help, assessment and multi-agency working."},
    {"title": "Children who witness violence or are sexually abused are more likely to inject drugs as adults",
     "byline": "ScienceDaily | 2 November 2016", "date": "2016-11-02",
     "summary": "A news report on a survey of more than 12,000 adults, which found that people who had witnessed violence or been sexually abused in childhood were more likely to inject drugs as adults."},
    {"title": "How can children's services tackle child exploitation? Live Q&A",
     "byline": "The Guardian | Social care network", "date": None,
     "summary": "An online question-and-answer session hosted by the Guardian's social care network, in which practitioners and researchers discuss how children's services can spot and respond to child exploitation."},
]


def html_sources() -> None:
    pages = [PUBLICATIONS[i:i + LISTING_PAGE_SIZE] for i in range(0, len(PUBLICATIONS), LISTING_PAGE_SIZE)]
    for number, pubs in enumerate(pages, start=1):
        cards = "".join(
            f"<article class='publication-card'><p class='type'>{html.escape(p['kind'])}</p>"
            f"<h3 class='title'><a href='/our-work/publications/{p['slug']}'>{html.escape(p['title'])}</a></h3>"
            f"<time datetime='{p['date']}'>{p['shown']}</time><p class='summary'>{html.escape(p['summary'])}</p></article>" for p in pubs)
        pager = f"<nav class='pager'><a class='next' rel='next' href='?page={number + 1}'>Next page</a></nav>" if number < len(pages) else ""
        page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Publications | Foundations</title></head><body>"
                f"<header><nav><a href='/'>Foundations</a> <a href='/our-work'>Our work</a></nav></header><main><h1>Publications</h1>"
                f"<section class='results'>{cards}</section>{pager}</main><footer>Foundations, the national What Works Centre for Children &amp; Families</footer></body></html>")
        url = LISTING if number == 1 else f"{LISTING}?page={number}"
        write("html", f"publications-page-{number}.html", url, page, "text/html; charset=utf-8")
    for p in PUBLICATIONS:
        authors = "".join(f"<meta name='citation_author' content='{html.escape(a)}'>" for a in p["authors"])
        page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(p['title'])} | Foundations</title>"
                f"<meta name='citation_title' content='{html.escape(p['title'])}'><meta name='citation_publisher' content='{html.escape(p['publisher'])}'>"
                f"<meta name='citation_publication_date' content='{p['date']}'>{authors}"
                f"<meta name='description' content='{html.escape(p['summary'])}'><meta property='og:site_name' content='Foundations'>"
                f"</head><body><header><nav><a href='/'>Foundations</a> <a href='/our-work/publications'>Publications</a></nav></header>"
                f"<main><p class='type'>{html.escape(p['kind'])}</p><h1>{html.escape(p['title'])}</h1><p class='meta'>{p['shown']}</p>"
                f"{paragraphs(p['body'])}</main><footer>Foundations</footer></body></html>")
        write("html", f"publications/{p['slug']}.html", f"{LISTING}/{p['slug']}", page, "text/html; charset=utf-8")
    items = "".join(
        f"<div class='digest-item'><h2 class='digest-title'>{html.escape(i['title'])}</h2><p class='byline'>{html.escape(i['byline'])}</p>"
        + (f"<time datetime='{i['date']}'></time>" if i["date"] else "")
        + f"<p class='digest-summary'>{html.escape(i['summary'])}</p></div>" for i in DIGEST_ITEMS)
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Research digest | CSA Centre</title></head><body>"
            f"<header><nav><a href='/'>Centre of expertise on child sexual abuse</a></nav></header><main><h1>Research digest</h1>"
            f"<p>Reports, inquiries and news we have read recently.</p>{items}</main><footer>CSA Centre</footer></body></html>")
    write("html", "research-digest.html", DIGEST_PAGE, page, "text/html; charset=utf-8")


# -- PDF: a page of report links, and the reports as PDF files --------------------------------------

READING_LIST = "https://www.researchinpractice.org.uk/children/publications/cse-reading-list/"

REPORTS: list[dict[str, Any]] = [
    {"file": "alternatives-to-high-cost-and-secure-accommodation.pdf",
     "url": "https://www.childrenssociety.org.uk/sites/default/files/alternatives-to-high-cost-and-secure-accommodation.pdf",
     "title": "Alternatives to high-cost and secure accommodation for victims of child sexual exploitation (CSE) in Greater Manchester: Analysing case files to explore young people's journeys through social care",
     "publisher": "The Children's Society", "published": "September 2016", "authors": "Dr Caitlin O'Neill Gutierrez and Lesley Hollinshead",
     "text": """The Children's Society analysed 10 case files from Wigan and Rochdale to follow the journeys through social care of young people at high risk of child sexual exploitation, some of whom had been placed in secure accommodation.

The analysis looks at the young people's placements (secure accommodation, residential care and foster care) and their placement stability, how the young people were referred and assessed, how professionals worked with their families, and what support they had for their health, education and development.

It describes protective and proactive social work responses and the points at which young people's needs were missed, and draws out questions for commissioners and practitioners looking for alternatives to high-cost and secure placements. As a qualitative case-file study it describes practice; it does not estimate the effect of any service."""},
    {"file": "puppet-on-a-string.pdf", "url": "https://www.barnardos.org.uk/sites/default/files/puppet-on-a-string.pdf",
     "title": "Puppet on a string: the urgent need to cut children free from sexual exploitation",
     "publisher": "Barnardo's", "published": "January 2011", "authors": "",
     "text": """Barnardo's draws on the experience of its specialist services for sexually exploited children to describe how children are groomed and controlled, how the exploitation moves children between places, and why many go unrecognised by the agencies around them.

The report calls on government to publish a national action plan on child sexual exploitation, and sets out what local safeguarding children boards, the police, schools and health services should do to identify children at risk and support them."""},
    {"file": "cse-public-health-literature-search.pdf",
     "url": "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/cse-public-health-literature-search.pdf",
     "title": "Child sexual exploitation: How public health can support prevention and intervention - literature search",
     "publisher": "Public Health England", "published": "July 2017", "authors": "",
     "text": """A literature search, by Public Health England, for recent international research on interventions to prevent child sexual abuse and child sexual exploitation, to support the public health framework on the subject.

References are grouped under increasing resilience, treating earlier trauma, preventing offending and reoffending, support for professionals, policy and service delivery, and religion and ethnic background, with the search strategy used. The document lists and briefly describes the research found; it does not appraise or synthesise it."""},
    {"file": "educational-outcomes-of-children-in-care-systematic-review.pdf",
     "url": "https://www.education.ox.ac.uk/wp-content/uploads/2019/05/ReesCentreReview_EducationalOutcomes.pdf",
     "title": "What is the relationship between being in care and the educational outcomes of children? An international systematic review",
     "publisher": "The Rees Centre", "published": "September 2015", "authors": "Aoife O'Higgins, Judy Sebba and Nikki Luke",
     "text": """This systematic review of international research asks whether being in care is associated with children's educational outcomes, what the nature of the association is, and whether there is evidence that it is causal. It covers children in family foster care or formal kinship care.

Electronic databases and websites were searched systematically, and 28 studies from the UK, the US, Canada and Australia met the inclusion criteria, including two reviews or meta-analyses. All but two of the included studies used comparison groups or compared children in care with the general population through administrative data.

Children in care generally had lower educational outcomes than other children, but in studies that took account of children's experiences and characteristics before care, the gap shrank: the review found little evidence that being in care itself causes poorer educational outcomes."""},
    {"file": "swis-pilots-evaluation.pdf", "url": "https://cascadewales.org/wp-content/uploads/2020/05/swis-pilots-evaluation.pdf",
     "title": "Social workers in schools: an evaluation of pilots in three local authorities in England",
     "publisher": WWCSC, "published": "May 2020", "authors": "",
     "text": """This report brings together the evaluations of three pilots in Lambeth, Southampton and Stockport, where social workers were based in secondary schools in the 2018-19 school year, carried out by CASCADE at Cardiff University.

The evaluation combined interviews and observations of practice with a quasi-experimental comparison of administrative data for pilot schools and matched comparison schools, selected for their pupil numbers, level of need and historic trends.

The pilots were well received, and the comparison with matched schools showed evidence of promise for reducing referrals, so the report recommends testing the approach in a larger randomised trial."""},
    {"file": "nao-children-in-care.pdf", "url": "https://www.nao.org.uk/wp-content/uploads/2014/11/Children-in-care.pdf",
     "title": "Children in care", "publisher": "National Audit Office", "published": "27 November 2014", "authors": "",
     "text": """Report by the Comptroller and Auditor General for the Department for Education. HC 787, Session 2014-15.

The National Audit Office examined whether the Department for Education and local authorities are achieving value for money in the care system: how many children are in care, where they live, how placements are commissioned and what happens to them.

Key facts: there were 68,110 children in care on 31 March 2013, and £2.5 billion was spent supporting children in foster and residential care in 2012-13. The report analyses national data on placements, placement stability and outcomes, and finds that the department did not know whether the care system was improving children's outcomes."""},
    {"file": "family-safeguarding-hertfordshire-evaluation.pdf",
     "url": "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/family-safeguarding-hertfordshire.pdf",
     "title": "Family Safeguarding Hertfordshire: Evaluation Report", "publisher": DFE, "published": "July 2017",
     "authors": "Donald Forrester, Amy Lynch, Lisa Bostock, Fiona Newlands, Bart Preston and Alex Cary",
     "text": """Children's Social Care Innovation Programme Evaluation Report 55.

Family Safeguarding Hertfordshire is a whole-system reform of children's services that brings specialist workers in domestic abuse, substance misuse and mental health into safeguarding teams, trains all staff in motivational interviewing, and uses group case discussion and structured workbooks.

The evaluation compared practice, families' experiences and outcomes before, during and after the reform, and analysed administrative data on service use and outcomes for every family allocated over 12 months from August 2015 (police involvement, emergency hospital admissions, school attendance, and substance misuse and mental health services), comparing the 12 months before allocation with the months after. Interviews, focus groups, observations and questionnaires with staff at three points in time traced the process of change. The report ends with estimates of cost savings."""},
]


def pdf_bytes(report: dict[str, Any]) -> bytes:
    """A small real PDF of one report: title, publisher, date and authors on page one, then the text."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(MADE)
    pdf.set_title(report["title"])
    pdf.set_author(report["publisher"])
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, report["publisher"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.multi_cell(0, 7, report["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.ln(3)
    pdf.multi_cell(0, 5, f"Published: {report['published']}", new_x="LMARGIN", new_y="NEXT")
    if report["authors"]:
        pdf.multi_cell(0, 5, f"Authors: {report['authors']}", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, f"Publisher: {report['publisher']}", new_x="LMARGIN", new_y="NEXT")
    for para in report["text"].strip().split("\n\n"):
        pdf.ln(3)
        pdf.multi_cell(0, 5, " ".join(para.split()), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", style="I", size=8)
    pdf.multi_cell(0, 4, "Demo copy made by the evidence project: the title, publisher and date are the report's own; the text is our summary.",
                   new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def pdf_sources() -> None:
    links = "".join(f"<li><a href='{html.escape(r['url'])}'>{html.escape(r['title'])}</a> ({html.escape(r['publisher'])}, {r['published']})</li>"
                    for r in REPORTS)
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Child sexual exploitation: reading list | Research in Practice</title></head>"
            f"<body><main><h1>Child sexual exploitation: reading list</h1><p>Reports to download (PDF).</p><ul>{links}</ul></main></body></html>")
    write("pdf", "reading-list.html", READING_LIST, page, "text/html; charset=utf-8")
    for r in REPORTS:
        write("pdf", r["file"], r["url"], pdf_bytes(r), "application/pdf")


# -- The failing source: recorded while its server answered 503 --------------------------------------

FAILING_URL = "https://www.csacentre.org.uk/research-resources/"
PLANNED_FAILURES = {"csa-centre-resources": "its answer was recorded while the site returned HTTP 503, to show how a failing source is reported"}


def failing() -> None:
    page = ("<!doctype html><html lang='en'><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>"
            "<p>The server is temporarily unable to service your request. Please try again later.</p></body></html>")
    write("html", "csacentre-503.html", FAILING_URL, page, "text/html; charset=utf-8", status=503)


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    govuk()
    nice()
    europepmc()
    feeds()
    html_sources()
    pdf_sources()
    failing()
    urls = [entry["url"] for entry in manifest]
    assert len(urls) == len(set(urls)), "two answers filed under one URL"
    header = ("# URL -> recorded answer (file under this folder, content type, HTTP status), written by tools/make_demo_answers.py.\n"
              "# evidence.demo_data.load_demo_captures puts each into a capture store; the tests serve them from 127.0.0.1.\n")
    (OUT / "manifest.yaml").write_text(header + yaml.safe_dump({"planned_failures": PLANNED_FAILURES, "answers": manifest}, sort_keys=False, allow_unicode=True, width=200),
                                       encoding="utf-8")
    print(f"{len(manifest)} answers written to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
