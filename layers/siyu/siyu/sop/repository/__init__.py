"""All access to SOP plans, their deliveries and the per-destination daily push counts: one
table, a module per record family (``plans``, ``deliveries``, ``caps``), and the send queue
(``queue``).

    pk = PLAN#<plan_id>      sk = PLAN            the plan                  (plans.py)
    pk = PLAN#<plan_id>      sk = DELIVERY#<id>   one delivery              (deliveries.py)
    pk = SOPCAP#<identity>   sk = <local day>     pushes a destination got  (caps.py)
"""

from __future__ import annotations

import os

from siyu.sop.repository.caps import PushCountRecords
from siyu.sop.repository.deliveries import DeliveryRecords
from siyu.sop.repository.group_tasks import GroupTaskRecords
from siyu.sop.repository.plans import PlanRecords, plan_from_json, plan_to_json
from siyu.sop.repository.queue import DeliveryQueue
from siyu.sop.repository.reminders import ReminderRecords
from siyu.sop.repository.table import DELIVERY_PREFIX, PLAN_DUE, PLAN_SK, SEND_DUE
from siyu.storage import aws

__all__ = [
    "DELIVERY_PREFIX",
    "PLAN_DUE",
    "PLAN_SK",
    "SEND_DUE",
    "DeliveryQueue",
    "SopTable",
    "plan_from_json",
    "plan_to_json",
]


class SopTable(PlanRecords, DeliveryRecords, GroupTaskRecords, ReminderRecords, PushCountRecords):
    """The SOP records of the one table (implements ``siyu.sop.ports.SopStore``)."""

    @classmethod
    def from_environment(cls) -> SopTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])
