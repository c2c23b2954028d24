"""The stack's signing key, in the secret store: made on first use, never in the template.

One SSM SecureString (``SIGNING_KEY_PARAMETER``) holds 32 random bytes (base64). The first
reader that finds none makes one and writes it without overwriting; if another container got
there first, the write is refused and its key is read instead, so every container signs with the
same key. Read through Powertools Parameters with a cache; never logged or returned.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, SetParameterError

CACHE_SECONDS = 3600


class SigningKey:
    def __init__(self, parameter_name: str):
        self._name = parameter_name

    @classmethod
    def from_environment(cls) -> SigningKey:
        return cls(os.environ["SIGNING_KEY_PARAMETER"])

    def get(self) -> bytes:
        key = self._read()
        if key is not None:
            return key
        with contextlib.suppress(SetParameterError):  # another container made it first: use theirs
            parameters.set_parameter(
                self._name,
                base64.b64encode(secrets.token_bytes(32)).decode(),
                overwrite=False,
                parameter_type="SecureString",
                description="siyu: the key that signs links and cookies (made on first use)",
            )
        key = self._read(fresh=True)
        if key is None:
            raise RuntimeError("the signing key could not be made or read")
        return key

    def _read(self, fresh: bool = False) -> bytes | None:
        try:
            value = parameters.get_parameter(self._name, decrypt=True, max_age=CACHE_SECONDS, force_fetch=fresh)
        except GetParameterError:
            return None
        try:
            key = base64.b64decode(str(value), validate=True)
        except ValueError:
            return None
        return key if len(key) >= 32 else None
