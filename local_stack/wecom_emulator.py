"""The local WeCom emulator's entry point; it lives in the local_stack.wecom package."""

from __future__ import annotations

from local_stack.wecom import CallbackConfig, WecomEmulator

__all__ = ["CallbackConfig", "WecomEmulator"]
