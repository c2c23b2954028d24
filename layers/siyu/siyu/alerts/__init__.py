"""Alerts and rotation: alert destinations, watch rules, the rotation job.

How the package stores its records (one table; see ``repository`` and ``watch_repository``):

- An alert destination (the API's "channel") is one item of native string attributes
  (pk = ALERT_CHANNELS, sk = CHANNEL#<id>).
- An alert record (pk = ALERT#<code_id>, sk = <occurred_at>#<id>, in ListIndex as ALERT) keeps
  the message in ``message_json`` and the delivery state per destination in ``deliveries_json``,
  with the summary ``status`` as a native attribute. Both JSON attributes are documents read and
  written whole: the message is the exact webhook payload (written once), the deliveries are
  replaced together after each attempt. They stay JSON so records written before this package
  was typed still read, byte for byte.
- The watch state lives on the code item as ``watch_json``: one document the job reads with the
  code and writes whole (never queried by field). The lease and the next check are native
  attributes (``lease_owner``, ``lease_until``, ``due_pk``, ``due_at``) because conditions name
  them (``siyu.storage.due_queue``).

Services (``rotation``, ``admin``) see typed records (``destinations``, ``records``) through the
interfaces in ``ports``; only the repositories talk to DynamoDB and SNS.
"""
