"""Customer layering's demo data (seed 003, 高姿): the skin questionnaire whose answers are the
codebook's tags (密码本: a number for each concern, "3" = 痘痘困扰; a letter for what the customer
most wants solved, "D" = 最想解决痘痘), and the segment a precise group (精准群) is built from.
Created through the admin API as an operator would, once (found again by name on the next starts)."""

from __future__ import annotations

from local_stack.demo import call

DEMO_QUESTIONNAIRE = "高姿护肤小问卷（1 分钟）"
DEMO_SEGMENT = "精准群：痘痘困扰且最想祛痘（3 + D）"

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


def seed_layering_demo(api_url: str, token: str) -> dict[str, str]:
    """The demo questionnaire and segment; their ids and the questionnaire's public URL."""
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
    return {
        "questionnaire_id": questionnaire["id"],
        "questionnaire_url": questionnaire["url"],
        "segment_id": segment["id"],
    }
