"""All access to the private S3 bucket that keeps operators' original uploads."""

from __future__ import annotations

import os

from siyu import aws


class UploadsBucket:
    def __init__(self, client, bucket_name: str):
        self._client = client
        self._bucket = bucket_name

    @classmethod
    def from_environment(cls) -> UploadsBucket:
        return cls(aws.s3(), os.environ["BUCKET_NAME"])

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._client.put_object(
            Bucket=self._bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
        )

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def download_url(self, key: str, seconds: int = 300) -> str:
        """A short-lived link to a private object, for operators to see the original upload."""
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=seconds
        )
