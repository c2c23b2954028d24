"""Keeping the emulator's data under .local/ so it survives a restart of the local stack.

Tables are dumped as DynamoDB-JSON items, buckets as files plus an index of content types, and
the stack's SSM parameters (the WeCom connection's SecureString) as a file only its owner may
read; a restart loads them back through the ordinary AWS APIs.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import boto3

PARAMETER_PATH = "/siyu/"  # the template's parameters live under it


class Snapshot:
    def __init__(self, folder: Path):
        self.folder = folder
        self._dynamodb = boto3.client("dynamodb")
        self._s3 = boto3.client("s3")
        self._ssm = boto3.client("ssm")

    def save(self, tables: list[str], buckets: list[str]) -> None:
        for table in tables:
            items = []
            for page in self._dynamodb.get_paginator("scan").paginate(TableName=table):
                items.extend(page["Items"])
            dump = json.dumps([_binary_as_text(item) for item in items])
            _write_atomically(self.folder / "tables" / f"{table}.json", dump.encode())
        for bucket in buckets:
            self._save_bucket(bucket)
        self._save_parameters()

    def _save_parameters(self) -> None:
        found = []
        for page in self._ssm.get_paginator("get_parameters_by_path").paginate(
            Path=PARAMETER_PATH, Recursive=True, WithDecryption=True
        ):
            found += [{"Name": p["Name"], "Value": p["Value"], "Type": p["Type"]} for p in page["Parameters"]]
        path = self.folder / "parameters.json"
        _write_atomically(path, json.dumps(found).encode())
        path.chmod(0o600)

    def _save_bucket(self, bucket: str) -> None:
        root = self.folder / "buckets" / bucket
        index_file = root / "index.json"
        saved = json.loads(index_file.read_text()) if index_file.exists() else {}
        current = {}
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj["ETag"]
                if saved.get(key, {}).get("etag") != etag:
                    answer = self._s3.get_object(Bucket=bucket, Key=key)
                    _write_atomically(root / "objects" / key, answer["Body"].read())
                    current[key] = {"etag": etag, "content_type": answer.get("ContentType", "")}
                else:
                    current[key] = saved[key]
        for key in set(saved) - set(current):
            (root / "objects" / key).unlink(missing_ok=True)
        _write_atomically(index_file, json.dumps(current).encode())

    def restore(self, tables: list[str], buckets: list[str]) -> None:
        for table in tables:
            dump = self.folder / "tables" / f"{table}.json"
            if dump.exists():
                for item in json.loads(dump.read_text()):
                    self._dynamodb.put_item(TableName=table, Item=_text_as_binary(item))
        for bucket in buckets:
            index_file = self.folder / "buckets" / bucket / "index.json"
            if index_file.exists():
                for key, meta in json.loads(index_file.read_text()).items():
                    body = (index_file.parent / "objects" / key).read_bytes()
                    self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=meta["content_type"])
        parameters = self.folder / "parameters.json"
        if parameters.exists():
            for parameter in json.loads(parameters.read_text()):
                self._ssm.put_parameter(**parameter, Overwrite=True)


def _binary_as_text(value):
    """DynamoDB-JSON with binary values (B, BS) base64-encoded, so it can be written as JSON."""
    return _map_binary(value, lambda raw: base64.b64encode(raw).decode())


def _text_as_binary(value):
    return _map_binary(value, base64.b64decode)


def _map_binary(value, convert):
    if isinstance(value, dict):
        return {
            k: convert(v) if k == "B" else [convert(b) for b in v] if k == "BS" else _map_binary(v, convert)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_binary(v, convert) for v in value]
    return value


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
