"""The SOP task page a guide opens from a reminder (WeChat's or WeCom's browser): the group, the
content to copy (复制: the Clipboard API, with a select-and-copy fallback), the picture to
long-press-save, a link or mini-program card's details, the deadline and a big 已发送 button.

Every answer is ``no-store`` and may not be framed (``frame-ancestors 'none'``); the one script is
allowed by its hash; the form posts to the token's own URL and needs no cookie.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any
from urllib.parse import urlsplit

from siyu.sop import rules
from siyu.sop.reminders import TASK_PATH, deadline_text
from siyu.sop.task_page import TaskView
from siyu.web.html import page

_COPY_SCRIPT = (
    "(function(){var b=document.getElementById('copy');if(!b)return;"
    "var t=document.getElementById('content');"
    "function ok(){b.textContent='已复制';setTimeout(function(){b.textContent='复制'},2000)}"
    "function old(){t.removeAttribute('readonly');t.select();t.setSelectionRange(0,t.value.length);"
    "var d=false;try{d=document.execCommand('copy')}catch(e){}t.setAttribute('readonly','');"
    "if(d){ok()}else{b.textContent='请长按文字手动复制'}}"
    "b.addEventListener('click',function(){if(navigator.clipboard&&window.isSecureContext){"
    "navigator.clipboard.writeText(t.value).then(ok,old)}else{old()}})})();"
)
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_COPY_SCRIPT.encode()).digest()).decode()
_STYLE = (
    "<style>main{text-align:left}.box{width:100%;box-sizing:border-box;min-height:140px;font-size:16px;"
    "line-height:1.6;padding:12px;border:1px solid #d0d3d9;border-radius:8px;background:#fafbfc;"
    "-webkit-user-select:text;user-select:text;resize:vertical}"
    ".btn{display:block;width:100%;box-sizing:border-box;margin:12px 0;padding:14px;border:0;"
    "border-radius:10px;font-size:18px;font-weight:600}.copy{background:#f0faf4;color:#07c160;"
    "border:1px solid #c7ecd6}.done{background:#07c160;color:#fff;font-size:20px;padding:18px}"
    ".pic{width:100%;height:auto;border-radius:8px;margin:8px 0}.who{width:100%;box-sizing:border-box;"
    "padding:10px;font-size:16px;border:1px solid #d0d3d9;border-radius:8px}"
    ".card{border:1px solid #e5e6eb;border-radius:8px;padding:10px 12px;margin:8px 0;word-break:break-all}"
    ".ok{background:#f0faf4;color:#07a855;border-radius:8px;padding:12px;font-size:16px}</style>"
)


def _csp(image_src: str | None) -> str:
    images = "data:"
    if image_src and not image_src.startswith("data:"):
        parts = urlsplit(image_src)
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _answer(status: int, title: str, body: str, image_src: str | None = None) -> dict[str, Any]:
    answer = page(status, title, body, _STYLE, csp=_csp(image_src))
    answer["headers"].update({"Cache-Control": "no-store, private", "Pragma": "no-cache", "X-Frame-Options": "DENY"})
    return answer


def refused_page(reason: str) -> dict[str, Any]:
    """An expired (410) or invalid (404) link: said plainly, nothing more."""
    if reason == "expired":
        return _answer(410, "链接已过期", "<h1>链接已过期</h1><p>这个发送任务的链接已过期，请联系运营同事。</p>")
    return _answer(404, "链接无效", "<h1>链接无效</h1><p>这个链接无效或不完整，请从提醒消息里重新打开。</p>")


def trouble_page() -> dict[str, Any]:
    return _answer(503, "暂时无法打开", "<h1>暂时无法打开</h1><p>请稍后刷新页面再试。</p>")


def task_page(task: TaskView, token: str, notice: str = "") -> dict[str, Any]:
    d = task.delivery
    parts = [f"<p class='muted'>{escape(task.plan.name)} · {escape(d.step_name)}</p>"]
    parts.append(f"<h1>发到：{escape(task.group)}</h1>")
    if notice:
        parts.append(f"<p class='notice'>{escape(notice)}</p>")
    parts.append(_content(task))
    if d.status == rules.SENT:
        at = deadline_text(d.sent_at, task.plan.time_zone) if d.sent_at else ""
        parts.append(f"<p class='ok'>✓ 已发送（{escape(d.confirmed_by or '')} {at} 标记）</p>")
    elif d.status == rules.NOT_SENT:
        parts.append("<p class='notice'>这个任务已过期，未标记发送。</p>")
    else:
        parts.append(f"<p>请在 <b>{escape(task.deadline)}</b> 前发送到群里，发完点下面的按钮。</p>")
        guides = "".join(f"<option value='{escape(g)}'>" for g in task.guides)
        parts.append(
            f"<form method='post' action='{TASK_PATH}{escape(token)}/sent'>"
            "<input class='who' name='who' maxlength='40' placeholder='你的名字（选填）' list='guides'>"
            f"<datalist id='guides'>{guides}</datalist>"
            "<button class='btn done' type='submit'>已发送</button></form>"
        )
    parts.append(f"<script>{_COPY_SCRIPT}</script>")
    return _answer(200, f"发送任务 · {task.group}", "".join(parts), task.image_src)


def _content(task: TaskView) -> str:
    c = task.content
    html = []
    copy_text = c.text
    if c.kind == rules.LINK:
        copy_text = c.text or f"{c.title}\n{c.url}"
    if copy_text:
        html.append(f"<textarea id='content' class='box' readonly>{escape(copy_text)}</textarea>")
        html.append("<button id='copy' class='btn copy' type='button'>复制</button>")
    if task.image_src:
        html.append(f"<img class='pic' src='{escape(task.image_src)}' alt='要发送的图片'>")
        html.append("<p class='muted'>长按图片保存，再发到群里。</p>")
    if c.kind == rules.LINK:
        html.append(
            f"<div class='card'><b>{escape(c.title)}</b><br>{escape(c.description)}<br>"
            f"<span class='muted'>{escape(c.url)}</span></div>"
        )
    if c.kind == rules.MINIPROGRAM:
        html.append(
            f"<div class='card'><b>小程序卡片：{escape(c.title)}</b><br>AppID：{escape(c.appid)}<br>"
            f"页面：{escape(c.page)}</div><p class='muted'>在小程序里打开这个页面，点右上角分享到群里。</p>"
        )
    return "".join(html)
