"""Optimistic modify: read a record, change it, save it only if nobody saved it in between.

A save whose version condition fails raises ``StaleVersion``; ``modify`` then reads again and
applies the change to what the other writer saved, and gives up with a ``Conflict`` only when the
record keeps changing. Used by every admin edit (codes, SOP plans, campaigns) and by the
referral credit (many invites crediting one referrer at once).
"""

from __future__ import annotations

from collections.abc import Callable

from siyu.core.errors import Conflict, StaleVersion

SAVE_ATTEMPTS = 5  # admin edits: two operators on one record
BUSY = "kept changing while it was saved (someone else is editing it); try again"


def modify[Record, Saved](
    read: Callable[[], Record],
    change_and_save: Callable[[Record], Saved],
    what: str,
    attempts: int = SAVE_ATTEMPTS,
) -> Saved:
    """`change_and_save(read())`, again from a fresh read after each StaleVersion; a Conflict
    naming `what` after `attempts` of them."""
    for _ in range(attempts):
        try:
            return change_and_save(read())
        except StaleVersion:
            continue
    raise Conflict(f"{what} {BUSY}")
