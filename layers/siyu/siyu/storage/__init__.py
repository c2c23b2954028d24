"""The storage mechanics every feature's repository is built from.

AWS clients, the DynamoDB item codec, paging, the due queue with leases, optimistic modify, the
uploads bucket."""
