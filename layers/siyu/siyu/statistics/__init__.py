"""Scan statistics and visitors: daily counters, the visitor ledger, reports.

Storage: both records are native attributes, no JSON. A day's statistics are numeric
``<metric>|<dimension>`` attributes that scans ``ADD`` to (spread over shard items, so a hot
code stays under DynamoDB's per-item write limit); a visitor record names each fact on its own
(``first_seen``, ``assigned:<pool>``, ``seen:<day>`` string sets …) because every scan updates
part of it in one conditional UpdateItem and reads back the old values to know what was new.
"""
