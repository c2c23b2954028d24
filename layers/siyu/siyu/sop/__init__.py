"""SOP plans (timed push scripts): the pure rules (``rules``), a plan's audience as destinations
(``audience``), the job that expands due steps into deliveries (``job``), the sender behind its
queue (``sender``; WeCom 企业群发 tasks: ``group_sender`` and the pure ``group_rules``), the
operators' logic (``admin``), the API contract and views (``api``), what they need from storage and
from WeCom (``ports``) and the storage itself (``repository``).

How the records are stored, and why:

- a plan is one document the admin reads and writes whole (every edit replaces steps, guards or
  name together, under one version): it stays one JSON attribute, ``plan_json``, next to the
  native attributes the queries and conditions need (``status``, ``version``, the list and due
  index keys, ``scanned_until``, the lease);
- a delivery is native attributes, one per field: the job creates it with a conditional put, the
  sender claims it and records each attempt with conditions and updates that name single fields
  (status, attempts, the send lease, the history of failed attempts);
- the daily cap is one counter item per destination and local day (``SOPCAP#``), counted with a
  conditional ADD.

The audience was first called the plan's "target": the stored document and the API keep that
name (``target``, ``target_key``, ``target_name``); the code says audience and destination.
"""
