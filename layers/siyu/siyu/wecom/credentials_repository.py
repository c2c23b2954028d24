"""The connection's secrets (app secret, callback token, EncodingAESKey) in the secret store.

One SSM SecureString parameter (``WECOM_CREDENTIALS_PARAMETER``) holds them as a JSON object,
read through Powertools Parameters with a cache (``CACHE_SECONDS``), so a warm function asks SSM
at most once in that time. A disconnect overwrites it with ``{}``. Nothing here ever logs them.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from siyu.core.errors import Unavailable
from siyu.wecom.records import Credentials

CACHE_SECONDS = 300


class CredentialsStore:
    def __init__(self, parameter_name: str, cache_seconds: int = CACHE_SECONDS):
        self._name = parameter_name
        self._cache_seconds = cache_seconds

    @classmethod
    def from_environment(cls) -> CredentialsStore:
        return cls(os.environ["WECOM_CREDENTIALS_PARAMETER"])

    def get(self, fresh: bool = False) -> Credentials | None:
        try:
            raw = parameters.get_parameter(self._name, decrypt=True, max_age=self._cache_seconds, force_fetch=fresh)
        except GetParameterError as error:
            if "ParameterNotFound" in repr(error.__cause__) or "ParameterNotFound" in str(error):
                return None  # never stored: not connected
            raise Unavailable("the secret store could not be read; try again in a moment") from None
        return _credentials(raw)

    def put(self, credentials: Credentials) -> None:
        value = {
            "secret": credentials.secret,
            "token": credentials.token,
            "encoding_aes_key": credentials.encoding_aes_key,
        }
        self._set(json.dumps(value))

    def clear(self) -> None:
        self._set("{}")

    def _set(self, value: str) -> None:
        parameters.set_parameter(
            self._name,
            value,
            overwrite=True,
            parameter_type="SecureString",
            description="siyu: the WeCom app secret, callback token and EncodingAESKey",
        )
        self.get(fresh=True)  # this container's cache now holds the new value


def _credentials(raw: Any) -> Credentials | None:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        value = json.loads(str(raw))
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("secret", "token")):
        return None
    return Credentials(
        secret=value["secret"], token=value["token"], encoding_aes_key=str(value.get("encoding_aes_key", ""))
    )
