"""All access to the private S3 bucket that keeps operators' original uploads."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

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

    def erase_prefix(self, prefix: str) -> int:
        """Delete for good every object under `prefix`: every version and every delete marker (a
        plain delete in a versioned bucket only hides the bytes). How many versions went."""
        if not prefix or not prefix.endswith(("/", "-v", ".")):
            raise ValueError(f"refusing to erase under {prefix!r}: not a folder or a file family")
        erased = 0
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            versions: list[Any] = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            ]
            for start in range(0, len(versions), 1000):  # DeleteObjects' most
                batch = versions[start : start + 1000]
                answer = self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise RuntimeError(f"S3 did not delete {first.get('Key')}: {first.get('Code')}")
                erased += len(batch)
        return erased
