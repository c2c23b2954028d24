"""Customer layering's public routes: the questionnaire (``GET /q/{id}`` shows the form,
``POST /q/{id}`` answers it), tracked short links (``GET /l/{id}``: counted, then a 302 at once),
and the brand's signed order webhook (``POST /hooks/orders``, JSON).

Hand-written like the campaign and task pages (light imports, no Powertools resolver). The visitor
is the ``siyu_vid`` cookie the scan and campaign pages share (set here when missing). A refused
form is the same form again, 4xx, with what was entered; no failure shows a stack trace.
"""

import json
import logging
import os
from urllib.parse import parse_qs

from siyu.core.errors import SiyuError
from siyu.layering.answers import Answering
from siyu.layering.flash_repository import FlashTable
from siyu.layering.flash_rules import CHINA
from siyu.layering.links import LinkClicks
from siyu.layering.links_repository import LinksTable
from siyu.layering.orders import OrderWebhook, SignatureRefused
from siyu.layering.pages import form_page, missing_page, thanks_page, trouble_page, unreadable_page
from siyu.layering.profiles_repository import ProfilesTable
from siyu.layering.questionnaires_repository import QuestionnairesTable
from siyu.layering.secret_repository import OrderWebhookSecret
from siyu.layering.segments import Segments
from siyu.statistics.visitors_repository import VisitorsTable
from siyu.storage.signing_key import SigningKey
from siyu.web.http_status import http_status
from siyu.web.request_bodies import json_document, media_type, raw_body
from siyu.web.visitors import (
    VISITOR_COOKIE,
    address_key,
    cookie_value,
    is_bot,
    is_visitor_id,
    new_visitor_id,
    source_ip,
    visitor_cookie_for,
)
from siyu.wecom.connection import WecomConnections
from siyu.wecom.contact_tagger import FollowFacts, WecomContactTagger
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.repository import WecomTable

logger = logging.getLogger("siyu.layering_pages")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
MAX_FORM_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"

flashes = FlashTable.from_environment()
signing_key = SigningKey.from_environment()


def count_signup(questionnaire, response, first: bool) -> None:
    """A sign-up's respondent who came through a group's link counts in that group's 兴趣率."""
    if questionnaire.signup and response.group:
        day = response.answered_at.astimezone(CHINA).date().isoformat()
        flashes.record_signup(response.group, response.visitor_id, day, response.answered_at)


tagger = WecomContactTagger(WecomConnections(WecomTable.from_environment(), CredentialsStore.from_environment()))
service = Answering(
    QuestionnairesTable.from_environment(),
    Segments(ProfilesTable.from_environment(), tagger=lambda: tagger if tagger.connected() else None),
    signing_key.get,
    scans=VisitorsTable.from_environment(),
    contacts=FollowFacts(ContactsTable.from_environment()),
    tagger=lambda: tagger if tagger.connected() else None,
    on_response=count_signup,
)
orders = OrderWebhook(flashes, OrderWebhookSecret.from_environment())
clicks = LinkClicks(LinksTable.from_environment(), lambda: address_key(signing_key.get()))


def lambda_handler(event, context):
    route = event.get("routeKey", "")
    try:
        if route == "GET /l/{link_id}":
            return _click(event)
        if route == "POST /hooks/orders":
            return _order(event)
        return _questionnaire(event, route.startswith("POST "))
    except Exception:
        logger.exception(json.dumps({"message": "layering page failed", "route": route}))
        return trouble_page()


def _questionnaire(event, posted: bool):
    questionnaire_id = (event.get("pathParameters") or {}).get("questionnaire_id", "")
    visitor_id, new_visitor = _visitor(event)
    query = event.get("queryStringParameters") or {}
    try:
        questionnaire = service.open(questionnaire_id)
    except SiyuError:
        return missing_page()
    if not posted:
        hidden = {"c": query.get("c", "")[:2000], "g": query.get("g", "")[:64]}
        return _with_cookie(event, form_page(questionnaire, hidden=hidden), visitor_id, new_visitor)
    form = _form(event)
    if form is None:
        return unreadable_page()
    # The page's hidden fields; a form posted straight to the link keeps the link's own ?c= and ?g=
    token = _first(form, "c") or query.get("c", "")[:2000]
    group = (_first(form, "g") or query.get("g", ""))[:64] or None
    submitted = service.submit(questionnaire_id, visitor_id, form, token=token or None, group=group)
    if submitted.response is None:  # 422: the same form, with what was entered and what is missing
        hidden = {"c": token, "g": group or ""}
        page = form_page(questionnaire, form, submitted.filled.problems, hidden, status=422)
        return _with_cookie(event, page, visitor_id, new_visitor)
    return _with_cookie(event, thanks_page(questionnaire), visitor_id, new_visitor)


def _click(event):
    link_id = (event.get("pathParameters") or {}).get("link_id", "")
    headers = event.get("headers") or {}
    visitor = cookie_value(event.get("cookies") or [], VISITOR_COOKIE)
    url = clicks.click(
        link_id,
        visitor if is_visitor_id(visitor) else None,
        source_ip(event),
        bot=is_bot(headers.get("user-agent", "")),
    )
    if url is None:
        return missing_page()
    return {"statusCode": 302, "headers": {"Location": url, "Cache-Control": "no-store"}, "body": ""}


def _order(event):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        body = raw_body(event)
        result = orders.receive(
            body, headers.get("x-siyu-timestamp", ""), headers.get("x-siyu-signature", ""), json_document
        )
    except SignatureRefused as refused:
        return _json(401, {"message": refused.message})
    except SiyuError as refused:
        return _json(http_status(refused), {"message": refused.message})
    return _json(200, {"result": result})


def _json(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body, ensure_ascii=False),
    }


def _visitor(event) -> tuple[str, bool]:
    value = cookie_value(event.get("cookies") or [], VISITOR_COOKIE)
    return (value, False) if is_visitor_id(value) else (new_visitor_id(), True)


def _with_cookie(event, page: dict, visitor_id: str, new_visitor: bool) -> dict:
    return {**page, "cookies": [visitor_cookie_for(event, visitor_id)]} if new_visitor else page


def _form(event) -> dict[str, list[str]] | None:
    """The posted form's fields (a body that is not a readable form: None)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if media_type(headers.get("content-type", FORM)) != FORM:
        return None
    try:
        body = raw_body(event)
    except SiyuError:
        return None
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        return None


def _first(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0].strip()
