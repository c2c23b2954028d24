"""boto3 clients, created once per container and reused while warm.

The endpoint is never set here: boto3 reads ``AWS_ENDPOINT_URL`` from the environment, which
is how the local stack points the very same code at its emulator.
"""

import functools

import boto3
from botocore.config import Config

# The scan path must answer within a second even when DynamoDB is slow: fail fast and let
# the caller serve its last known good page instead of waiting through long retries.
FAST = Config(connect_timeout=0.5, read_timeout=1.0, retries={"max_attempts": 2, "mode": "standard"})
PATIENT = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 4, "mode": "standard"})


@functools.cache
def dynamodb(fast: bool = False):
    return boto3.client("dynamodb", config=FAST if fast else PATIENT)


@functools.cache
def s3():
    return boto3.client("s3", config=PATIENT)
