"""All access to the private S3 bucket that keeps operators' original uploads."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from siyu.storage import aws

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import S3Client


class UploadsBucket:
    def __init__(self, client: S3Client, bucket_name: str):
        self._client = client
        self._bucket = bucket_name

    @classmethod
    def from_environment(cls) -> UploadsBucket:
        return cls(aws.s3(), os.environ["BUCKET_NAME"])

    def put(self, key: str, body: bytes, content_type: str) -> str | None:
        """Store an object; returns its version id (the bucket is versioned on AWS)."""
        answer = self._client.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
        )
        return answer.get("VersionId")

    def delete(self, key: str, version_id: str | None = None) -> None:
        """Delete an object; with its version id the bytes are gone for good (a rollback),
        without it the versioned bucket keeps them recoverable for its retention period."""
        if version_id:
            self._client.delete_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        else:
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def get(self, key: str) -> bytes:
        return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def download_url(self, key: str, seconds: int = 300) -> str:
        """A short-lived link to a private object, for operators to see the original upload."""
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
        )
