"""What the alert messages say to the operators who read them (Chinese copy, kept out of the job)."""

from __future__ import annotations

# Why the job switched away from a group QR (see rotation.why_left).
LEFT_BECAUSE = {
    "deleted": "已删除",
    "disabled": "已停用",
    "expired": "已过期",
    "full": "已达到切换阈值",
    "reordered": "已被调整顺序",
}
_RESOLVED = {"runway_low": "可用群二维码余量已恢复", "on_fallback": "已有可用的群二维码，扫码用户不再看到兜底文案"}
_RESOLVED_GROUP = {"group_filling": "客户群 {} 人数已低于 180 人", "group_full": "客户群 {} 已有空位"}
TEST_TEXT = "这是一条来自 siyu 的测试消息：告警渠道「{name}」工作正常。"
TEST_CODE_NAME = "测试消息"


def resolved_text(key: str) -> str:
    """The message of a resolved alert condition (by its key, e.g. expiring_24h:<target_id>)."""
    kind, _, target = key.partition(":")
    if kind.startswith("expiring_"):
        what = f"群二维码 {target} 不再临近过期"
    elif kind in _RESOLVED_GROUP:
        what = _RESOLVED_GROUP[kind].format(target)
    else:
        what = _RESOLVED.get(kind, key)
    return f"已恢复：{what}。"


def switched_text(previous: str, current: str, reason: str) -> str:
    """The message of an automatic switch from group QR `previous` to `current`."""
    return f"已自动从群二维码 {previous} 切换到 {current}（原二维码{LEFT_BECAUSE.get(reason, reason)}）。"
