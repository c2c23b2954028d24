"""Demo data for the local stack: a group live code with a few demo group QRs, created
through the admin API exactly as an operator would (screenshot uploads included)."""

from __future__ import annotations

import base64
import io
import json
import secrets
import string
import urllib.error
import urllib.request


def group_qr_screenshot(url: str, label: str = "Demo group", size: tuple[int, int] = (750, 1334)) -> bytes:
    """A phone-screenshot-like PNG of a WeChat group QR card holding `url`."""
    # Imported here, after the stack has put the (built) layer first on sys.path: the stack
    # then runs on the layer's own Pillow, not the dev virtualenv's.
    import qrcode
    from PIL import Image, ImageDraw

    screen = Image.new("RGB", size, (237, 237, 237))
    draw = ImageDraw.Draw(screen)
    width, height = size
    card = (40, 180, width - 40, height - 260)
    draw.rounded_rectangle(card, radius=16, fill="white")
    draw.text((80, 220), label, fill=(25, 25, 25))
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    side = min(card[2] - card[0] - 120, image.width * 2)
    image = image.resize((side, side), Image.NEAREST)
    screen.paste(image, ((width - side) // 2, 320))
    draw.text((80, 320 + side + 40), "Valid for 7 days. Scan to join the group chat.", fill=(120, 120, 120))
    buffer = io.BytesIO()
    screen.save(buffer, format="PNG")
    return buffer.getvalue()


def demo_group_url() -> str:
    alphabet = string.ascii_letters + string.digits
    return "https://weixin.qq.com/g/" + "".join(secrets.choice(alphabet) for _ in range(22))


def call(api_url: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One admin API call as an operator's client makes it."""
    request = urllib.request.Request(
        api_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else {}


def seed_demo(api_url: str, token: str) -> dict:
    """Create the demo group code with three demo groups and a backup QR; returns the code."""
    status, code = call(
        api_url,
        token,
        "POST",
        "/admin/codes",
        {
            "name": "Demo: parcel-card group code",
            "title": "加入会员福利群",
            "guidance": "长按识别二维码加入群聊",
            "switch_threshold": 5,
            "fallback_text": "今天的福利群都满了，请添加客服微信，我们会拉你进新群。",
        },
    )
    if status != 201:
        raise RuntimeError(f"could not create the demo code: {status} {code}")
    for number in (1, 2, 3):
        image = group_qr_screenshot(demo_group_url(), f"siyu demo group {number}")
        status, answer = call(
            api_url,
            token,
            "POST",
            f"/admin/codes/{code['id']}/targets",
            {"image_base64": base64.b64encode(image).decode()},
        )
        if status != 201:
            raise RuntimeError(f"could not upload demo target {number}: {status} {answer}")
    backup = group_qr_screenshot("https://u.wechat.com/" + secrets.token_urlsafe(18).replace("-", "a"), "Service staff")
    call(
        api_url,
        token,
        "PUT",
        f"/admin/codes/{code['id']}/backup-qr",
        {"image_base64": base64.b64encode(backup).decode()},
    )
    return call(api_url, token, "GET", f"/admin/codes/{code['id']}")[1]


def _upload(api_url: str, token: str, code_id: str, url: str, label: str, **fields) -> dict:
    image = group_qr_screenshot(url, label)
    body = {"image_base64": base64.b64encode(image).decode(), **fields}
    status, answer = call(api_url, token, "POST", f"/admin/codes/{code_id}/targets", body)
    if status != 201:
        raise RuntimeError(f"could not upload demo target {label}: {status} {answer}")
    return answer


def demo_staff_url() -> str:
    return "https://u.wechat.com/" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")


def seed_staff_and_grouped_demos(api_url: str, token: str) -> dict[str, dict]:
    """A staff code (round robin, a daily cap, working hours, a backup, two channels) and a
    grouped code (two cities, each with its own pool); returns {"staff": code, "grouped": code}."""
    status, staff = call(
        api_url,
        token,
        "POST",
        "/admin/codes",
        {"name": "Demo: store guides", "kind": "staff", "title": "添加您的专属顾问"},
    )
    if status != 201:
        raise RuntimeError(f"could not create the demo staff code: {status} {staff}")
    office_hours = [{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}]
    for name in ("包裹卡", "门店12号立牌"):
        call(api_url, token, "POST", f"/admin/codes/{staff['id']}/channels", {"name": name, "tags": [name]})
    # The guides are WeCom members on contact ways (联系我: the demo corp is connected first); the
    # backup is an uploaded personal-WeChat QR, for when both are capped or off duty.
    connect_demo_corp(api_url, token)
    _wecom_guide(api_url, token, staff["id"], wecom_user="xiaowang", staff_name="小王", daily_cap=20)
    _wecom_guide(api_url, token, staff["id"], wecom_user="xiaoli", staff_name="小李", working_hours=office_hours)
    _upload(api_url, token, staff["id"], demo_staff_url(), "客服", staff_name="值班客服", backup=True)
    status, grouped = call(
        api_url,
        token,
        "POST",
        "/admin/codes",
        {
            "name": "Demo: city groups",
            "kind": "grouped",
            "title": "加入同城福利群",
            "guidance": "请选择您所在的城市",
            "options": [
                {"label": "上海", "tag": "city:shanghai"},
                {"label": "北京", "description": "含天津", "tag": "city:beijing"},
            ],
        },
    )
    if status != 201:
        raise RuntimeError(f"could not create the demo grouped code: {status} {grouped}")
    for option in grouped["options"]:
        _upload(api_url, token, grouped["id"], demo_group_url(), f"{option['label']}群", option_id=option["id"])
    return {
        "staff": call(api_url, token, "GET", f"/admin/codes/{staff['id']}")[1],
        "grouped": call(api_url, token, "GET", f"/admin/codes/{grouped['id']}")[1],
    }


def seed_campaign_demo(api_url: str, token: str, code_id: str) -> dict:
    """A fission campaign on the demo group code: 2 friends unlock a sample, 5 a full size. Invites
    are proven by WeCom adds: each participant's poster carries their own contact way for the demo
    corp's member zhangsan (so the demo corp must be connected first: seed_wecom_demo)."""
    status, campaign = call(
        api_url,
        token,
        "POST",
        "/admin/campaigns",
        {
            "name": "Demo: 老带新领好礼",
            "code_id": code_id,
            "ends_at": "2099-12-31T23:59:59+08:00",
            "tiers": [
                {"invites": 2, "reward": "新人小样一份", "stock": 100},
                {"invites": 5, "reward": "¥79 正装兑换券", "stock": 20},
            ],
            "wecom": {"users": ["zhangsan"]},
        },
    )
    if status != 201:
        raise RuntimeError(f"could not create the demo campaign: {status} {campaign}")
    return campaign


# The demo corp: any credentials work on the WeCom emulator (a secret beginning with "bad" would not).
DEMO_CORP = {
    "corp_id": "wwdemo5823bf96d3",
    "agent_id": "1000002",
    "secret": "demo-app-secret-0123456789",
    "token": "siyuDemoToken",
    "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
}
DEMO_CHATS = ["wrDemoGroupAAAAAAAAAAAAAAAAAAAAA", "wrDemoGroupBBBBBBBBBBBBBBBBBBBBBB"]


def connect_demo_corp(api_url: str, token: str) -> None:
    """Connect the demo corp on the WeCom emulator, unless a corp is connected already."""
    if not call(api_url, token, "GET", "/admin/wecom")[1].get("connected"):
        status, answer = call(api_url, token, "PUT", "/admin/wecom", DEMO_CORP)
        if status != 200:
            raise RuntimeError(f"could not connect the demo WeCom corp: {status} {answer}")


def _wecom_guide(api_url: str, token: str, code_id: str, **fields) -> dict:
    status, answer = call(api_url, token, "POST", f"/admin/codes/{code_id}/targets", fields)
    if status != 201:
        raise RuntimeError(f"could not put demo guide {fields.get('staff_name')} on a contact way: {status} {answer}")
    return answer


def seed_wecom_demo(api_url: str, token: str, staff: dict, group: dict) -> dict[str, str]:
    """WeCom behind the demo codes (each step only if it is not there yet): the demo corp connected
    (unless another corp is), the staff code's welcome message and tags (its guides are on contact
    ways), and two customer groups on a join way (加入群聊) after the group code's screenshots.
    Returns the QR contents a simulated customer scans."""
    connect_demo_corp(api_url, token)
    if not staff.get("welcome"):
        call(
            api_url,
            token,
            "PATCH",
            f"/admin/codes/{staff['id']}",
            {
                "tags": ["门店导购"],
                "welcome": {
                    "text": "你好，我是你的专属顾问，新人福利已为你备好～",
                    "link": {"title": "新人福利", "url": "https://example.com/welcome", "desc": "领取你的新人礼"},
                },
            },
        )
        for channel in staff.get("channels", []):
            call(
                api_url,
                token,
                "PATCH",
                f"/admin/codes/{staff['id']}/channels/{channel['id']}",
                {"tags": [channel["name"]]},
            )
    contact = next((t for t in staff["targets"] if t.get("wecom_user")), None)
    if contact is None:
        body = {"wecom_user": "zhangsan", "staff_name": "张三（企业微信）", "weight": 2}
        status, contact = call(api_url, token, "POST", f"/admin/codes/{staff['id']}/targets", body)
        if status != 201:
            raise RuntimeError(f"could not add the demo contact way: {status} {contact}")
    join = next((t for t in group["targets"] if t.get("wecom_chat_ids")), None)
    if join is None:
        body = {"wecom_chat_ids": DEMO_CHATS, "room_base_name": "会员福利群"}
        status, join = call(api_url, token, "POST", f"/admin/codes/{group['id']}/targets", body)
        if status != 201:
            raise RuntimeError(f"could not add the demo join way: {status} {join}")
    return {"staff_contact_way_url": contact["url"], "group_join_way_url": join["url"]}


DEMO_GROUPMSG_PLAN = "Demo: 会员福利群 企业群发周计划"


def seed_wecom_sop_demo(api_url: str, token: str, group: dict) -> str:
    """An SOP plan on the demo group code's WeCom customer groups (the join way's two groups),
    pushed through 企业群发: the daily-group week, one task a day for the groups' owner to confirm
    (made once; found again on the next starts). Returns the plan's id."""
    plans = call(api_url, token, "GET", "/admin/sop/plans?limit=100")[1].get("items", [])
    found = next((p for p in plans if p["name"] == DEMO_GROUPMSG_PLAN), None)
    if found:
        return found["id"]
    body = {
        "name": DEMO_GROUPMSG_PLAN,
        "preset": "daily_group_week",
        "target": {"kind": "wecom_groups", "code_id": group["id"]},
    }
    status, plan = call(api_url, token, "POST", "/admin/sop/plans", body)
    if status != 201:
        raise RuntimeError(f"could not create the demo 企业群发 plan: {status} {plan}")
    return plan["id"]
