"""Customer layering's demo data (seed 003, 高姿): the skin questionnaire whose answers are the
codebook's tags (密码本: a number for each concern, "3" = 痘痘困扰; a letter for what the customer
most wants solved, "D" = 最想解决痘痘), the segment a precise group (精准群) is built from, a group
code that routes that segment to the precise group, and a flash group (快闪群) over the demo WeCom
groups with a learning link and a sign-up, whose four rates fill in as the emulator's customers
join, speak and click. Created through the admin API as an operator would, once (found again by
name on the next starts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from local_stack.demo import DEMO_CHATS, _upload, call, demo_group_url

DEMO_QUESTIONNAIRE = "高姿护肤小问卷（1 分钟）"
DEMO_SEGMENT = "精准群：痘痘困扰且最想祛痘（3 + D）"
DEMO_PRECISE_CODE = "Demo: 精准群活码（痘痘 3 + D 进精准群，其他人进日常群）"
DEMO_FLASH = "Demo: 12 月祛痘快闪群"
DEMO_SIGNUP = "祛痘快闪群活动报名"

QUESTIONS = [
    {
        "text": "您的肤质是？",
        "kind": "single",
        "options": [
            {"label": "干性皮肤", "tag": "干皮"},
            {"label": "油性皮肤", "tag": "油皮"},
            {"label": "混合性皮肤", "tag": "混合皮"},
            {"label": "敏感肌", "tag": "敏感肌"},
        ],
    },
    {
        "text": "您现在有哪些肌肤困扰？（可多选）",
        "kind": "multi",
        "options": [
            {"label": "干燥缺水", "tag": "1"},
            {"label": "出油", "tag": "2"},
            {"label": "痘痘", "tag": "3"},
            {"label": "闭口粉刺", "tag": "4"},
            {"label": "暗沉", "tag": "5"},
            {"label": "细纹", "tag": "6"},
        ],
    },
    {
        "text": "您最想先解决哪一个？",
        "kind": "single",
        "options": [
            {"label": "补水保湿", "tag": "A"},
            {"label": "控油", "tag": "B"},
            {"label": "提亮肤色", "tag": "C"},
            {"label": "祛痘", "tag": "D"},
            {"label": "淡纹", "tag": "E"},
        ],
    },
    {"text": "还想告诉顾问的（选填）", "kind": "text", "required": False},
    {"text": "手机号（选填，方便顾问回访）", "kind": "phone", "required": False},
]


def seed_layering_demo(api_url: str, token: str, group_code_id: str) -> dict[str, str]:
    """The demo questionnaire, segment, precise-group code and flash group: their ids and URLs."""
    items = call(api_url, token, "GET", "/admin/questionnaires?limit=200")[1].get("items", [])
    questionnaire = next((q for q in items if q["title"] == DEMO_QUESTIONNAIRE), None)
    if questionnaire is None:
        body = {
            "title": DEMO_QUESTIONNAIRE,
            "intro": "回答 3 个小问题，顾问会按您的肤质推荐护理方案。",
            "questions": QUESTIONS,
            "thanks": "提交成功！顾问会根据您的肤质发送专属护理建议。",
        }
        status, questionnaire = call(api_url, token, "POST", "/admin/questionnaires", body)
        if status != 201:
            raise RuntimeError(f"could not create the demo questionnaire: {status} {questionnaire}")
    segments = call(api_url, token, "GET", "/admin/segments")[1].get("items", [])
    segment = next((s for s in segments if s["name"] == DEMO_SEGMENT), None)
    if segment is None:
        body = {"name": DEMO_SEGMENT, "rule": {"all": ["3", "D"]}}
        status, segment = call(api_url, token, "POST", "/admin/segments", body)
        if status != 201:
            raise RuntimeError(f"could not create the demo segment: {status} {segment}")
    precise = _precise_code(api_url, token, segment["id"])
    flash = _flash_group(api_url, token, group_code_id)
    return {
        "questionnaire_id": questionnaire["id"],
        "questionnaire_url": questionnaire["url"],
        "segment_id": segment["id"],
        "precise_code_id": precise["id"],
        "precise_scan_url": precise["scan_url"],
        **flash,
    }


def _precise_code(api_url: str, token: str, segment_id: str) -> dict:
    """A group code with a daily group for everyone and a precise group for the demo segment."""
    codes = call(api_url, token, "GET", "/admin/codes?limit=100")[1].get("items", [])
    found = next((c for c in codes if c["name"] == DEMO_PRECISE_CODE), None)
    if found is not None:
        return found
    status, code = call(api_url, token, "POST", "/admin/codes", {"name": DEMO_PRECISE_CODE, "title": "加入护肤交流群"})
    if status != 201:
        raise RuntimeError(f"could not create the demo precise-group code: {status} {code}")
    body = {"segment_id": segment_id, "label": "痘痘精准群"}
    status, route = call(api_url, token, "POST", f"/admin/codes/{code['id']}/segment-routes", body)
    if status != 201:
        raise RuntimeError(f"could not route the demo segment: {status} {route}")
    _upload(api_url, token, code["id"], demo_group_url(), "日常护肤群")
    _upload(api_url, token, code["id"], demo_group_url(), "痘痘精准群", option_id=route["id"])
    return code


def _flash_group(api_url: str, token: str, group_code_id: str) -> dict[str, str]:
    """The flash group over the demo WeCom groups (the demo group code's join way), its learning
    link in the first group and its sign-up questionnaire (opened from the group: ?g=<chat>)."""
    flashes = call(api_url, token, "GET", "/admin/flash-groups?limit=200")[1].get("items", [])
    flash = next((f for f in flashes if f["name"] == DEMO_FLASH), None)
    links = call(api_url, token, "GET", "/admin/links?limit=200")[1].get("items", [])
    link = next((k for k in links if k["group"] == DEMO_CHATS[0] and k["learning"]), None)
    if link is None:
        body = {"url": "https://example.com/acne-101", "group": DEMO_CHATS[0], "learning": True, "step": "day-1"}
        status, link = call(api_url, token, "POST", "/admin/links", body)
        if status != 201:
            raise RuntimeError(f"could not create the demo learning link: {status} {link}")
    items = call(api_url, token, "GET", "/admin/questionnaires?limit=200")[1].get("items", [])
    signup = next((q for q in items if q["title"] == DEMO_SIGNUP), None)
    if signup is None:
        body = {
            "title": DEMO_SIGNUP,
            "signup": True,
            "questions": [
                {"text": "想参加哪一场？", "kind": "single", "options": [{"label": "周六直播", "tag": "报名直播"}]},
                {"text": "手机号（选填）", "kind": "phone", "required": False},
            ],
        }
        status, signup = call(api_url, token, "POST", "/admin/questionnaires", body)
        if status != 201:
            raise RuntimeError(f"could not create the demo sign-up: {status} {signup}")
    if flash is None:
        today = datetime.now(UTC).date()
        body = {
            "name": DEMO_FLASH,
            "chat_ids": DEMO_CHATS,
            "code_id": group_code_id,
            "first_day": (today - timedelta(days=1)).isoformat(),
            "last_day": (today + timedelta(days=14)).isoformat(),
            "signup_questionnaire_id": signup["id"],
        }
        status, flash = call(api_url, token, "POST", "/admin/flash-groups", body)
        if status != 201:
            raise RuntimeError(f"could not create the demo flash group: {status} {flash}")
    return {
        "flash_id": flash["id"],
        "learning_link_url": link["short_url"],
        "signup_url": f"{signup['url']}?g={DEMO_CHATS[0]}",
    }
