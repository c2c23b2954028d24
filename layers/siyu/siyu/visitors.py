"""Who is scanning, as far as the User-Agent tells: WeChat's in-app browser, another browser,
or a bot (link previews, crawlers, uptime checks) whose visits must not fill a group."""

import re

_BOT = re.compile(
    r"bot|spider|crawl|slurp|linkpreview|facebookexternalhit|headlesschrome|curl/|wget/|python-requests|"
    r"python-urllib|go-http-client|okhttp|java/|apache-httpclient|pingdom|uptimerobot",
    re.IGNORECASE,
)


def is_wechat(user_agent: str) -> bool:
    """WeChat's and WeCom's in-app browsers (MicroMessenger; wxwork for WeCom)."""
    return "micromessenger" in user_agent.lower() or "wxwork" in user_agent.lower()


def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or bool(_BOT.search(user_agent))
