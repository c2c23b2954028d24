"""Live codes: the model, assignment, the scan and its landing page, QR images, admin and API contract.

Storage (``repository``, ``counters_repository``): a code is one item of native attributes; its
targets, options and channels are lists of maps inside it, because an admin edit reads and
writes the whole config under one optimistic ``version`` (one conditional write). The only
text-encoded field is a target's ``working_hours`` (a short JSON list, kept as items written
before store it). Scan counters are separate numeric items per target shard, so scans never
contend with edits and a hot code spreads its writes.
"""
