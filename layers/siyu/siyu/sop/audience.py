"""A plan's audience as the destinations its pushes go to."""

from __future__ import annotations

from siyu.sop.ports import CodeGroups
from siyu.sop.rules import WECOM_ROBOT, Destination, Plan, zone

DESTINATIONS, CODE_GROUPS = "destinations", "code_groups"  # the kinds of audience


def is_code_groups(plan: Plan) -> bool:
    return plan.audience.get("kind") == CODE_GROUPS


def audience_destinations(plan: Plan, codes: CodeGroups) -> list[Destination]:
    """The plan's named destinations, or the groups behind a group code that have a WeCom group
    robot (day 0 = the day the group was added)."""
    if not is_code_groups(plan):
        return list(plan.destinations)
    code, _ = codes.load(plan.audience["code_id"])
    if code is None:
        return []
    tz = zone(plan.time_zone)
    return [
        Destination(
            f"g:{group.id}",
            group.staff_name or f"group {group.id}",
            WECOM_ROBOT,
            group.robot_url,
            None,
            group.created_at.astimezone(tz).date(),
        )
        for group in code.targets
        if group.robot_url and group.enabled
    ]
