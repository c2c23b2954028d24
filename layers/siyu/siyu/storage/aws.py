"""boto3 clients, created once per container and reused while warm.

The endpoint is never set here: boto3 reads ``AWS_ENDPOINT_URL`` from the environment, which
is how the local stack points the very same code at its emulator.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:  # the client types, for the type checker only (see client_types.pyi)
    from siyu.storage.client_types import DynamoDBClient, S3Client, SNSClient, SQSClient, SSMClient

# The scan path must answer within a second even when DynamoDB is slow: at most two attempts
# of half a second, then the caller serves its last known good page. (total_max_attempts
# counts the first try; botocore's max_attempts would count only the retries.)
FAST = Config(connect_timeout=0.3, read_timeout=0.5, retries={"total_max_attempts": 2, "mode": "standard"})
PATIENT = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 3, "mode": "standard"})


@functools.cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=PATIENT)


@functools.cache
def dynamodb_for_scans() -> DynamoDBClient:
    """The scan path's own client: fail fast, never wait long."""
    return boto3.client("dynamodb", config=FAST)


@functools.cache
def s3() -> S3Client:
    return boto3.client("s3", config=PATIENT)


@functools.cache
def sns() -> SNSClient:
    return boto3.client("sns", config=PATIENT)


@functools.cache
def sqs() -> SQSClient:
    return boto3.client("sqs", config=PATIENT)


@functools.cache
def sqs_for_scans() -> SQSClient:
    """The scan path's queue client (referral hand-overs): fail fast like its table client."""
    return boto3.client("sqs", config=FAST)


@functools.cache
def ssm() -> SSMClient:
    return boto3.client("ssm", config=PATIENT)


@functools.cache
def ssm_for_scans() -> SSMClient:
    """The scan path's parameter client (the signing key, read once an hour per container)."""
    return boto3.client("ssm", config=FAST)
