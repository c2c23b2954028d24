"""What a new contact is sent and tagged with: pure rules over the code's and channel's settings.

A channel's welcome message replaces the code's for customers who came through that channel;
tags add up (the code's, the channel's, and the grouped option's pick). WeCom's corp tag names
are at most 30 characters.
"""

from __future__ import annotations

from typing import Any

from siyu.live_codes.model import Channel, LiveCode, Target

MAX_TAG_LENGTH = 30


def welcome_of(code: LiveCode, channel: Channel | None) -> Any:
    """The welcome message for a customer who came through `channel` (None: none set)."""
    own = getattr(channel, "welcome", None) if channel else None
    return own or getattr(code, "welcome", None)


def tags_of(code: LiveCode, channel: Channel | None, target: Target | None) -> list[str]:
    """The tag names a customer who came this way gets, in order, once each."""
    names: list[str] = list(getattr(code, "tags", ()))
    if channel is not None:
        names += list(getattr(channel, "tags", ()))
    option = code.option(target.option_id) if target is not None else None
    if option is not None and option.tag:
        names.append(option.tag)
    seen: dict[str, None] = {}
    for name in names:
        cleaned = name.strip()[:MAX_TAG_LENGTH]
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def welcome_body(welcome: Any, welcome_code: str, miniprogram_media_id: str | None = None) -> dict[str, Any]:
    """The body of ``externalcontact/send_welcome_msg`` for `welcome`."""
    body: dict[str, Any] = {"welcome_code": welcome_code}
    if welcome.text:
        body["text"] = {"content": welcome.text}
    attachments: list[dict[str, Any]] = []
    link = getattr(welcome, "link", None)
    if link is not None:
        attachments.append(
            {
                "msgtype": "link",
                "link": {
                    "title": link.title,
                    "url": link.url,
                    **({"desc": link.desc} if getattr(link, "desc", None) else {}),
                    **({"picurl": link.picurl} if getattr(link, "picurl", None) else {}),
                },
            }
        )
    image_url = getattr(welcome, "image_url", None)
    if image_url:
        attachments.append({"msgtype": "image", "image": {"pic_url": image_url}})
    mini = getattr(welcome, "miniprogram", None)
    if mini is not None and miniprogram_media_id:
        attachments.append(
            {
                "msgtype": "miniprogram",
                "miniprogram": {
                    "title": mini.title,
                    "pic_media_id": miniprogram_media_id,
                    "appid": mini.appid,
                    "page": mini.page,
                },
            }
        )
    if attachments:
        body["attachments"] = attachments
    return body
