"""The questionnaire's public pages (what a customer reads, in Chinese): the mobile form, the same
form again with what was entered and what is missing (a 4xx), the thank-you page, and the pages
for a questionnaire that does not exist or a moment of trouble. Plain HTML, no script: it renders
at once in WeChat's browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from siyu.layering.model import MULTI, PHONE, SINGLE, TEXT, Questionnaire
from siyu.layering.rules import (
    BAD_PHONE,
    MAX_TEXT,
    NO_CONSENT,
    ONE_ONLY,
    REQUIRED,
    TOO_LONG,
    UNKNOWN_OPTION,
    consent_name,
    field_name,
)
from siyu.layering.rules import entered as kept_values
from siyu.web.html import page

PROBLEMS = {
    REQUIRED: "这一题还没有填写",
    UNKNOWN_OPTION: "请从选项中选择",
    ONE_ONLY: "这一题只能选一项",
    TOO_LONG: f"请控制在 {MAX_TEXT} 字以内",
    BAD_PHONE: "请填写正确的 11 位手机号",
    NO_CONSENT: "留下手机号需要勾选同意",
}

_FORM_STYLE = (
    "<style>form{text-align:left}fieldset{border:0;margin:0 0 18px;padding:0}"
    "legend{font-size:17px;font-weight:600;margin-bottom:8px;line-height:1.5}"
    "label.opt{display:flex;align-items:center;gap:10px;margin:8px 0;padding:12px 14px;border-radius:10px;"
    "border:1px solid #dfe3e8;font-size:16px}label.opt input{width:20px;height:20px;margin:0}"
    "input[type=text],input[type=tel],textarea{box-sizing:border-box;width:100%;font-size:16px;padding:12px;"
    "border:1px solid #dfe3e8;border-radius:10px}textarea{min-height:84px}"
    ".err{color:#d93026;font-size:14px;margin:4px 0}.consent{font-size:14px;color:#5c6370;margin:8px 0}"
    "button{width:100%;padding:14px;font-size:17px;border:0;border-radius:10px;background:#07c160;color:#fff}"
    ".req{color:#d93026}</style>"
)


def form_page(
    questionnaire: Questionnaire,
    form: Mapping[str, Sequence[str]] | None = None,
    problems: dict[int, str] | None = None,
    hidden: dict[str, str] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    """The form; after a refused POST, with what was entered (`form`) and each question's problem."""
    form, problems = form or {}, problems or {}
    entered = kept_values(questionnaire, form)
    parts = [f"<h1>{escape(questionnaire.title)}</h1>"]
    if questionnaire.intro:
        parts.append(f'<p class="muted">{escape(questionnaire.intro)}</p>')
    if problems:
        parts.append(f'<p class="notice">还有 {len(problems)} 处需要补充，请看标红的题目。</p>')
    parts.append(f'<form method="post" action="/q/{escape(questionnaire.id)}">')
    for name, value in (hidden or {}).items():
        if value:
            parts.append(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">')
    for index in range(len(questionnaire.questions)):
        consented = any(v.strip() for v in form.get(consent_name(index), ()))
        parts.append(_question(index, questionnaire, entered.get(index, []), problems.get(index), consented))
    parts.append("<button type=submit>提交</button></form>")
    return page(status, questionnaire.title, "".join(parts), extra_head=_FORM_STYLE)


def _question(index: int, questionnaire: Questionnaire, values: list[str], problem: str | None, consented: bool) -> str:
    question = questionnaire.questions[index]
    name = field_name(index)
    mark = ' <span class="req">*</span>' if question.required else ""
    html = [f"<fieldset><legend>{index + 1}. {escape(question.text)}{mark}</legend>"]
    if problem:
        html.append(f'<p class="err">{PROBLEMS.get(problem, "请检查这一题")}</p>')
    if question.kind in (SINGLE, MULTI):
        kind = "radio" if question.kind == SINGLE else "checkbox"
        for option in question.options:
            checked = " checked" if option.label in values else ""
            html.append(
                f'<label class="opt"><input type="{kind}" name="{name}" value="{escape(option.label)}"{checked}>'
                f"{escape(option.label)}</label>"
            )
    elif question.kind == TEXT:
        html.append(f'<textarea name="{name}" maxlength="{MAX_TEXT}">{escape(" ".join(values))}</textarea>')
    elif question.kind == PHONE:
        value = escape(values[0]) if values else ""
        html.append(f'<input type="tel" name="{name}" value="{value}" inputmode="numeric" autocomplete="tel">')
        consent = consent_name(index)
        checked = " checked" if consented else ""
        html.append(
            f'<label class="consent"><input type="checkbox" name="{consent}" value="1"{checked}> '
            "我同意商家保存我的手机号，仅用于本次服务联系；可随时要求删除。</label>"
        )
    html.append("</fieldset>")
    return "".join(html)


def thanks_page(questionnaire: Questionnaire) -> dict[str, Any]:
    body = f'<h1>{escape(questionnaire.title)}</h1><p class="hint">{escape(questionnaire.thanks)}</p>'
    if questionnaire.thanks_link:
        body += f'<p><a class="choice" href="{escape(questionnaire.thanks_link)}"><b>继续查看</b></a></p>'
    return page(200, questionnaire.title, body)


def missing_page() -> dict[str, Any]:
    return page(404, "问卷不存在", "<h1>问卷不存在</h1><p>这个问卷已下线或链接有误，请联系您的顾问。</p>")


def trouble_page() -> dict[str, Any]:
    return page(503, "请稍后再试", "<h1>请稍后再试</h1><p>系统繁忙，您填写的内容没有提交成功，请稍后再提交一次。</p>")


def unreadable_page() -> dict[str, Any]:
    return page(400, "提交失败", "<h1>提交失败</h1><p>提交的内容无法读取，请返回重新填写。</p>")
