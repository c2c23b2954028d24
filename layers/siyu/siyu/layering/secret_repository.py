"""The order webhook's secret, in the secret store (an SSM SecureString named by
``ORDER_WEBHOOK_SECRET_PARAMETER``): written by an operator, read (cached a minute) by the webhook,
never logged or returned."""

from __future__ import annotations

import os

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from siyu.core.errors import InvalidInput, Unavailable

CACHE_SECONDS = 60


class OrderWebhookSecret:
    def __init__(self, parameter_name: str):
        self._name = parameter_name

    @classmethod
    def from_environment(cls) -> OrderWebhookSecret:
        return cls(os.environ.get("ORDER_WEBHOOK_SECRET_PARAMETER", ""))

    def get(self) -> str | None:
        if not self._name:
            return None
        try:
            value = parameters.get_parameter(self._name, decrypt=True, max_age=CACHE_SECONDS)
        except GetParameterError as error:
            if "ParameterNotFound" in repr(error.__cause__) or "ParameterNotFound" in str(error):
                return None
            raise Unavailable("the secret store could not be read; try again in a moment") from None
        return str(value) or None

    def put(self, secret: str) -> None:
        if not self._name:
            raise InvalidInput("this stack has no ORDER_WEBHOOK_SECRET_PARAMETER")
        parameters.set_parameter(
            self._name,
            secret,
            overwrite=True,
            parameter_type="SecureString",
            description="siyu: the secret the brand signs order webhooks with",
        )
