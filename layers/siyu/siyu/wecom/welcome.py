"""What a new contact is sent and tagged with, in WeCom's terms: pure rules.

Which welcome and which tags apply is the live code's rule (``live_codes.model.welcome_for`` and
``tags_for``: a channel's welcome replaces the code's, tags add up); a grouped code's option adds
its tag. Here they become the body of ``send_welcome_msg`` and corp tag names (at most 30
characters).
"""

from __future__ import annotations

from typing import Any

from siyu.live_codes.model import LiveCode, Welcome, tags_for

MAX_TAG_LENGTH = 30


def contact_tags(code: LiveCode, channel_id: str | None, target_id: str | None) -> list[str]:
    """The corp tag names a customer who came this way gets, in order, once each."""
    names = list(tags_for(code, channel_id))
    target = code.target(target_id) if target_id else None
    option = code.option(target.option_id) if target is not None else None
    if option is not None and option.tag:
        names.append(option.tag)
    cleaned = (name.strip()[:MAX_TAG_LENGTH] for name in names)
    return list(dict.fromkeys(name for name in cleaned if name))


def welcome_body(welcome: Welcome, welcome_code: str, miniprogram_media_id: str | None = None) -> dict[str, Any]:
    """The body of ``externalcontact/send_welcome_msg``. A mini-program card needs its picture
    uploaded first (``pic_media_id``); without one it is left out and the rest still goes."""
    body: dict[str, Any] = {"welcome_code": welcome_code, "text": {"content": welcome.text}}
    attachments: list[dict[str, Any]] = []
    if welcome.link is not None:
        link: dict[str, str] = {"title": welcome.link.title, "url": welcome.link.url}
        if welcome.link.desc:
            link["desc"] = welcome.link.desc
        if welcome.link.picurl:
            link["picurl"] = welcome.link.picurl
        attachments.append({"msgtype": "link", "link": link})
    if welcome.image_url:
        attachments.append({"msgtype": "image", "image": {"pic_url": welcome.image_url}})
    if welcome.miniprogram is not None and miniprogram_media_id:
        mini = welcome.miniprogram
        card = {"title": mini.title, "pic_media_id": miniprogram_media_id, "appid": mini.appid, "page": mini.page}
        attachments.append({"msgtype": "miniprogram", "miniprogram": card})
    if attachments:
        body["attachments"] = attachments
    return body
