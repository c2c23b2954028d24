"""Fission campaigns: rules, participants, referrals, posters, rewards, pages, admin and API contract.

How records are stored (``repository/``, one module per record family): a campaign is one
document the admin reads and writes whole, so it stays one JSON attribute (``campaign_json``, with
``version`` beside it for the optimistic save); everything else is native attributes, because
conditions and updates name its fields: a tier's ``stock``/``granted`` (a grant only while
``granted < stock``), a participant's ``invites`` (a credit only from the count that was read), an
invite's ``status``, a reward's ``notify_status``/``attempts``/``lease_until``, the due index's
``due_pk``/``due_at`` (whose text also names the campaign and the invite or reward). Services see
typed records (``rules``, ``records``) and the store's protocol (``ports``), never items.
"""
