"""Public campaign pages (/c/{campaign_id}): join with a nickname and optional avatar, see
one's poster, invites, rewards and rank. The visitor cookie (the same one scans set) says who
is who; a participant's poster is served only to them (other people get the referral URL it
carries by scanning it). Pages never show a stack trace: failures become a friendly page.

Hand-written on purpose, not on Powertools' APIGatewayHttpResolver: the goal was a cold import within
1.3x of `import boto3` + one DynamoDB client, and the resolver-based page misses it.
bench/campaign_page_import_bench.py (30 interleaved fresh interpreters, Python 3.13, boto3 1.44.5,
Powertools 3.37.0, a 2-core machine), median / p90 in ms:
  import boto3 + one DynamoDB client (baseline)         206 / 297   1.00x
  baseline + the resolver's imports                     254 / 293   1.23x
  this page as written (it also creates its S3 client)  282 / 341   1.37x
  this page + a resolver with its four routes           323 / 356   1.57x
(a second run: 210, 263, 292, 333 ms: 1.25x, 1.39x, 1.58x.) The resolver adds about 41 ms (143 more
modules, mostly its data classes) to a page that its S3 client and the layer's modules already put past
1.3x, and would buy little: four routes on one path parameter and one error mapping are the dozen lines
of lambda_handler, and the multipart form, the cookie and the JSON answers would stay hand-written."""

import base64
import email.parser
import email.policy
import json
import logging
import os
from urllib.parse import parse_qs, quote

from siyu.campaigns import pages as campaign_pages
from siyu.campaigns.avatars import MAX_AVATAR_BYTES, avatar_format
from siyu.campaigns.join_checks import cross_site_refusal, host_of
from siyu.campaigns.privacy import notice_text, notice_version
from siyu.campaigns.rules import WAIT, parse_referral
from siyu.campaigns.service import CampaignService
from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, InvalidInput, SiyuError, TooLarge, UnreadableBody, UnsupportedMediaType
from siyu.storage.signing_key import SigningKey
from siyu.web.base64_files import decode_base64_file
from siyu.web.http_status import http_status
from siyu.web.request_bodies import charset_refusal, json_object, media_type, raw_body
from siyu.web.visitors import (
    VISITOR_COOKIE,
    address_hash,
    address_key,
    cookie_value,
    is_visitor_id,
    new_visitor_id,
    source_ip,
    visitor_cookie_for,
)

logger = logging.getLogger("siyu.campaign_page")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))
service = CampaignService.from_environment()
SIGNING_KEY = SigningKey.from_environment()  # read lazily: the address-hash key is derived from it
# The join form has three fields; a body of thousands of empty parts would only cost parsing time.
MAX_FORM_PARTS = 10
TEXT_FIELDS = ("nickname", "r", "avatar_base64", "notice")
NOTICE_CHANGED = "the privacy notice changed since the page was loaded; load the page again, read it, and join"
# What the join page tells a person whose browser sent a form that could not be read (a client asking for
# JSON gets the technical reason instead).
UNREADABLE_FORM = {
    400: "表单没有提交成功，请刷新页面后重新填写。",
    413: campaign_pages.CUSTOMER_COPY[TooLarge],
    415: "表单没有提交成功，请刷新页面后重新填写。",
    422: "表单内容有误，请刷新页面后重新填写。",
}


class NoticeChanged(Conflict):
    """The join page's privacy notice changed between showing the form and submitting it."""


def lambda_handler(event, context):
    route = event.get("routeKey", "")
    campaign_id = (event.get("pathParameters") or {}).get("campaign_id", "")
    try:
        if route == "POST /c/{campaign_id}/join":
            return join(event, campaign_id)
        if route == "GET /c/{campaign_id}/me":
            return me(event, campaign_id)
        if route == "GET /c/{campaign_id}/poster.jpg":
            return poster(event, campaign_id)
        return home(event, campaign_id)
    except SiyuError as error:
        if http_status(error) == 404:
            return campaign_pages.message_page("活动不存在", "这个活动不存在或链接有误，请向商家确认。", 404)
        return campaign_pages.message_page("暂时无法参加", campaign_pages.customer_message(error), http_status(error))
    except Exception:
        logger.exception(json.dumps({"message": "campaign page failed", "campaign_id": campaign_id}))
        return campaign_pages.message_page("正在加载…", "访问人数较多，请稍后刷新页面。", 503)


def home(event, campaign_id):
    """The join page, or the participant's progress. A visitor without the cookie gets it here, on
    a GET: the join's POST never sets one (see join)."""
    campaign = service.campaign(campaign_id)
    visitor_id = _visitor(event)
    participant = service.participant_of(campaign_id, visitor_id)
    if participant is None:
        referral = (event.get("queryStringParameters") or {}).get("r")
        if not campaign.running(utcnow()):
            return campaign_pages.message_page(campaign.name, "活动未开始或已结束，感谢关注。")
        page = campaign_pages.join_page(campaign, referral if parse_referral(referral) else None)
        return page if visitor_id else {**page, "cookies": [visitor_cookie_for(event, new_visitor_id())]}
    wait = service.poster_wait(participant) if not participant.poster_key else None
    progress = service.progress(campaign, participant)
    return campaign_pages.progress_page(progress, participant.poster_version, wait or WAIT)


def join(event, campaign_id):
    """Cheap checks first: where the form came from, the visitor cookie, already joined, the body
    as sent; then the service's (running, nickname, hourly limit), and only then the avatar is
    decoded. A join registers no invite: invites come from scans of the campaign's code that showed
    a usable target (the campaign worker judges them), so no reward webhook is ever sent from here."""
    headers = event.get("headers") or {}
    wants_json = "application/json" in headers.get("accept", "")
    campaign = service.campaign(campaign_id)
    own_hosts = (headers.get("host", ""), (event.get("requestContext") or {}).get("domainName", ""))
    refusal = cross_site_refusal(headers, (*own_hosts, host_of(campaign.scan_base_url)))
    if refusal is not None:
        logger.warning(json.dumps({"message": "cross-site join refused", "campaign_id": campaign_id}))
        if wants_json:
            return _json(403, {"message": refusal})
        return campaign_pages.message_page("请在活动页面参加", "请打开活动页面后再参加。", 403)
    visitor_id = _visitor(event)
    joined = service.participant_of(campaign_id, visitor_id)
    if joined is not None:  # joined already: the body is not read
        return _joined(campaign, joined, wants_json)
    try:
        form = _form(event)  # parsed, not decoded: the avatar stays bytes
    except SiyuError as error:  # the body could not be read: the person sees what to do, a client why
        return _refused(error, campaign, None, wants_json, UNREADABLE_FORM.get(http_status(error), error.message))
    referral = form.get("r") if isinstance(form.get("r"), str) and parse_referral(form.get("r")) else None
    if visitor_id is None:  # the cookie comes with the page (GET); a POST never sets or replaces it
        if wants_json:
            return _json(400, {"message": f"no visitor cookie: GET /c/{campaign_id} first (it sets it), then join"})
        return _see_other(f"/c/{campaign_id}" + (f"?r={quote(referral)}" if referral else ""))
    address = address_hash(address_key(SIGNING_KEY.get()), source_ip(event))
    current = notice_version(notice_text(campaign))
    if form.get("notice") not in (None, current):  # the notice changed since the page was shown
        return _refused(
            NoticeChanged(NOTICE_CHANGED), campaign, referral, wants_json, "隐私说明已更新，请阅读后重新提交。"
        )
    try:
        upload = _checked_upload(form.get("avatar"))
        participant = service.join(
            campaign_id,
            visitor_id,
            form.get("nickname", ""),
            address,
            (lambda: _avatar(upload)) if upload else None,
            notice_version=current,
        )
    except SiyuError as error:
        return _refused(error, campaign, referral, wants_json, campaign_pages.customer_message(error))
    return _joined(campaign, participant, wants_json)


def _joined(campaign, participant, wants_json: bool) -> dict:
    if wants_json:
        return _json(201, service.progress(campaign, participant).to_json())
    return _see_other(f"/c/{campaign.id}")


def _see_other(location: str) -> dict:
    return {"statusCode": 303, "headers": {"Location": location, "Cache-Control": "no-store"}, "body": ""}


def me(event, campaign_id):
    campaign = service.campaign(campaign_id)
    participant = service.participant_of(campaign_id, _visitor(event))
    if participant is None:
        return _json(404, {"message": "you have not joined this campaign yet; join at /c/" + campaign_id})
    return _json(200, service.progress(campaign, participant).to_json())


def poster(event, campaign_id):
    participant = service.participant_of(campaign_id, _visitor(event))
    jpeg = service.poster(participant) if participant else None
    if jpeg is None:
        return _json(404, {"message": "no poster yet: join the campaign, then reload in a few seconds"})
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=300"},
        "isBase64Encoded": True,
        "body": base64.b64encode(jpeg).decode("ascii"),
    }


def _refused(error: SiyuError, campaign, referral: str | None, wants_json: bool, page_message: str) -> dict:
    """A refused join: the reason as JSON for a client, or the join page again with `page_message`."""
    if wants_json:
        return _json(http_status(error), {"message": error.message})
    return campaign_pages.join_page(campaign, referral, page_message, http_status(error))


def _visitor(event) -> str | None:
    value = cookie_value(event.get("cookies") or [], VISITOR_COOKIE)
    return value if is_visitor_id(value) else None


def _checked_upload(upload) -> bytes | None:
    """The uploaded avatar's cheap checks (no decoding): a file, at most 4 MB, JPEG, PNG or WebP by
    its first bytes; or a 4xx saying what to change."""
    if not upload:
        return None
    if not isinstance(upload, bytes):
        raise InvalidInput("avatar must be an image file (or avatar_base64 in JSON)")
    if len(upload) > MAX_AVATAR_BYTES:
        raise TooLarge(f"the avatar is larger than {MAX_AVATAR_BYTES // 1024 // 1024} MB; choose a smaller photo")
    if avatar_format(upload) is None:
        raise UnsupportedMediaType("the avatar is not a JPEG, PNG or WebP photo; choose one of those")
    return upload


def _avatar(upload: bytes) -> bytes:
    """The avatar, its pixels checked from its header, then decoded and re-encoded (after every cheap check)."""
    from siyu.campaigns.posters import avatar_jpeg  # Pillow only for joins that bring a photo

    try:
        return avatar_jpeg(upload)
    except ValueError as error:
        raise InvalidInput(str(error)) from None


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "application/json")


def _form(event) -> dict:
    """The posted fields: multipart (the page's form, with the avatar file), urlencoded, or JSON."""
    body = raw_body(event)
    content_type = (event.get("headers") or {}).get("content-type", "")
    kind = media_type(content_type)
    if kind == "multipart/form-data":
        return _multipart(content_type, body)
    if kind == "application/json":
        refusal = charset_refusal(content_type)
        if refusal is not None:
            raise refusal
        data = json_object(body)
        for name in TEXT_FIELDS:
            if data.get(name) is not None and not isinstance(data[name], str):
                raise InvalidInput(f"{name} must be text (a JSON string)")
        if isinstance(data.get("avatar_base64"), str):
            data["avatar"] = decode_base64_file(data["avatar_base64"], MAX_AVATAR_BYTES, "avatar_base64")
        return data
    if kind in ("application/x-www-form-urlencoded", "") or not body:
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    raise UnsupportedMediaType(f"a {kind} body cannot be read here; send the form as one of: {', '.join(FORM_TYPES)}")


def _multipart(content_type: str, body: bytes) -> dict:
    header = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    boundary = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header).get_boundary()
    if boundary and body.count(b"--" + boundary.encode("latin-1", "replace")) > MAX_FORM_PARTS + 1:
        raise UnreadableBody(f"the form has more than {MAX_FORM_PARTS} parts; send only the join form's fields")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    if not boundary or not message.is_multipart() or message.defects:
        raise UnreadableBody("the multipart form could not be read (no boundary, or broken parts); send the form again")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        is_file = part.get_filename() is not None and name not in TEXT_FIELDS  # only the avatar is a file
        fields[name] = data if is_file else data.decode("utf-8", "replace")
    return fields


def _json(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"},
        "body": json.dumps(body, ensure_ascii=False),
    }
