"""A local WeCom (企业微信) emulator: WeCom's documented /cgi-bin/ API over real HTTP, its JSON shapes
and errcodes, and its encrypted, signed callbacks to the stack. Local tooling only: nothing in
functions/ or layers/ imports it, and it imports nothing of siyu (its crypto is a second,
independent implementation, which is what makes it a test of the product's).
"""

from __future__ import annotations

from local_stack.wecom.callbacks import CallbackConfig
from local_stack.wecom.emulator import WecomEmulator

__all__ = ["CallbackConfig", "WecomEmulator"]
