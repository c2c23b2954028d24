"""The order webhook's secret, in the secret store (an SSM SecureString named by
``ORDER_WEBHOOK_SECRET_PARAMETER``): written by an operator, read by the webhook (kept a minute in
memory), never logged or returned. Plain boto3, like the signing key: no Powertools on the public
layering function."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from siyu.core.errors import InvalidInput, Unavailable
from siyu.storage import aws

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import SSMClient

CACHE_SECONDS = 60


class OrderWebhookSecret:
    def __init__(
        self,
        parameter_name: str,
        client: Callable[[], SSMClient] = aws.ssm,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._name = parameter_name
        self._client = client
        self._monotonic = monotonic
        self._cached: tuple[str, float] | None = None

    @classmethod
    def from_environment(cls) -> OrderWebhookSecret:
        return cls(os.environ.get("ORDER_WEBHOOK_SECRET_PARAMETER", ""))

    def get(self) -> str | None:
        """The secret; None when none is set. Unavailable when the store cannot be read."""
        if not self._name:
            return None
        if self._cached is not None and self._monotonic() - self._cached[1] < CACHE_SECONDS:
            return self._cached[0]
        try:
            value: str | None = (
                self._client().get_parameter(Name=self._name, WithDecryption=True)["Parameter"].get("Value")
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
                raise Unavailable("the secret store could not be read; try again in a moment") from None
            value = None
        except BotoCoreError:
            raise Unavailable("the secret store could not be reached; try again in a moment") from None
        if value:  # a secret just set is seen at once; a changed one within a minute
            self._cached = (value, self._monotonic())
        return value or None

    def put(self, secret: str) -> None:
        if not self._name:
            raise InvalidInput("this stack has no ORDER_WEBHOOK_SECRET_PARAMETER")
        self._client().put_parameter(
            Name=self._name,
            Value=secret,
            Type="SecureString",
            Overwrite=True,
            Description="siyu: the secret the brand signs order webhooks with",
        )
        self._cached = None
