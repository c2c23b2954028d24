"""The stack's signing key, in the secret store: made on first use, never in the template.

One SSM SecureString (``SIGNING_KEY_PARAMETER``) holds 32 random bytes (base64). The first
reader that finds none makes one and writes it without overwriting; if another container got
there first, the write is refused and its key is read instead, so every container signs with the
same key. Read with boto3 alone (the scan path can afford it: no Powertools) and kept in memory for
an hour; never logged or returned. Signed links (``siyu.web.signed_links``) and the scan path's
memory cookie (``siyu.web.scan_memory``) use this one key store.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from siyu.storage import aws

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import SSMClient

CACHE_SECONDS = 3600
KEY_BYTES = 32


class SigningKey:
    def __init__(
        self,
        parameter_name: str,
        client: Callable[[], SSMClient] = aws.ssm,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._name = parameter_name
        self._client = client
        self._monotonic = monotonic
        self._key: bytes | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, fast: bool = False) -> SigningKey:
        return cls(os.environ["SIGNING_KEY_PARAMETER"], aws.ssm_for_scans if fast else aws.ssm)

    def get(self) -> bytes:
        """The key (made if there is none yet). Raises the storage error when SSM cannot be reached."""
        with self._lock:
            if self._key is not None and self._monotonic() - self._read_at < CACHE_SECONDS:
                return self._key
            key = self._read()
            if key is None:
                self._make()
                key = self._read()
            if key is None:
                raise RuntimeError("the signing key could not be made or read")
            self._key, self._read_at = key, self._monotonic()
            return key

    def _read(self) -> bytes | None:
        try:
            answer = self._client().get_parameter(Name=self._name, WithDecryption=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise
        try:
            key = base64.b64decode(answer["Parameter"].get("Value", ""), validate=True)
        except ValueError:
            return None
        return key if len(key) >= KEY_BYTES else None

    def _make(self) -> None:
        try:
            self._client().put_parameter(
                Name=self._name,
                Value=base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode(),
                Type="SecureString",
                Overwrite=False,
                Description="siyu: the key that signs links and cookies (made on first use)",
            )
        except ClientError as error:  # another container made it first: use theirs
            if error.response.get("Error", {}).get("Code") != "ParameterAlreadyExists":
                raise
