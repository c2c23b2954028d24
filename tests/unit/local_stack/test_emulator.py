"""The emulator's own promises that need no running server."""

from moto.dynamodb.models.table import Table

import local_stack.emulator  # noqa: F401  (importing it switches moto's instance tracking off)


def test_moto_keeps_no_reference_to_the_objects_it_makes():
    # moto's dashboard tracking kept every rollback copy of the table that a DynamoDB
    # transaction makes (7.6 GB in one integration run): what moto makes must be freeable.
    table = Table(
        "t",
        account_id="123456789012",
        region="us-east-1",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        attr=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    assert not any(tracked is table for tracked in Table.instances_tracked)
