"""Precise-group routing on the scan path (精准群, "按标签筛选精准客户, 精准建群"): on a group or
staff code with segment routes, a scanner who is a member of a route's segment gets the route's
pool, everyone else the main pool. The membership is one GetItem (``layering.membership_repository``),
made only when the code has routes and the scanner has a visitor id; when it fails, the main pool."""

from __future__ import annotations

import logging
from typing import Protocol

from siyu.live_codes.model import GROUPED, LiveCode, Option, Pool, pool_of, route_for

logger = logging.getLogger(__name__)


class SegmentLookup(Protocol):
    def segments_of(self, visitor_id: str) -> frozenset[str]: ...


def scanner_pool(
    code: LiveCode, option: Option | None, visitor_id: str | None, lookup: SegmentLookup | None
) -> tuple[Pool, Option | None]:
    """The pool this scanner assigns from, and the segment route that chose it (None: no route)."""
    route = None
    if code.kind != GROUPED and code.options and visitor_id and lookup is not None:
        try:
            route = route_for(code, lookup.segments_of(visitor_id))
        except Exception as error:  # storage trouble: the scanner still gets a page, from the main pool
            logger.warning("could not read a scanner's segments for %s (%s); the main pool", code.id, error)
    return pool_of(code, option or route), route
