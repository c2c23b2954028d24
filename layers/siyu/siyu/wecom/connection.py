"""Connecting a corp's self-built app, and the client every WeCom use goes through.

Connecting checks the credentials before anything is stored: ``gettoken`` must accept the app
secret (else 422, nothing stored). Then it asks what the app may do (客户联系: the follow-user
list; the app itself: ``agent/get``) and reports each check; the connection is stored with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from siyu.core.clock import utcnow
from siyu.core.errors import Conflict, InvalidInput
from siyu.wecom.client import WecomApiError, WecomClient
from siyu.wecom.crypto import CallbackCrypto, valid_encoding_aes_key
from siyu.wecom.records import Connection, Credentials

CORP_ID = re.compile(r"^[A-Za-z0-9]{4,64}$")
AGENT_ID = re.compile(r"^[0-9]{1,12}$")
SECRET = re.compile(r"^[\x21-\x7e]{8,128}$")
TOKEN = re.compile(r"^[A-Za-z0-9]{1,32}$")
OK = "ok"


class ConnectionStore(Protocol):
    def connection(self) -> Connection | None: ...

    def save_connection(self, connection: Connection) -> None: ...

    def drop_connection(self) -> None: ...

    def cached_token(self) -> tuple[str, datetime] | None: ...

    def claim_refresh(self, owner: str, now: datetime, lease: timedelta, needed_until: datetime) -> bool: ...

    def release_refresh(self, owner: str) -> None: ...

    def store_token(self, token: str, expires_at: datetime, owner: str) -> None: ...

    def drop_token(self, token: str) -> None: ...


class SecretStore(Protocol):
    def get(self, fresh: bool = False) -> Credentials | None: ...

    def put(self, credentials: Credentials) -> None: ...

    def clear(self) -> None: ...


@dataclass
class _OneOffTokens:
    """A token cache for checking credentials that are not stored yet (never shared)."""

    token: tuple[str, datetime] | None = None

    def cached_token(self) -> tuple[str, datetime] | None:
        return self.token

    def claim_refresh(self, owner: str, now: datetime, lease: timedelta, needed_until: datetime) -> bool:
        return True

    def release_refresh(self, owner: str) -> None:
        pass

    def store_token(self, token: str, expires_at: datetime, owner: str) -> None:
        self.token = (token, expires_at)

    def drop_token(self, token: str) -> None:
        self.token = None


@dataclass
class WecomConnections:
    store: ConnectionStore
    secrets: SecretStore
    make_client: Callable[..., WecomClient] = WecomClient
    clock: Callable[[], datetime] = utcnow
    _client: WecomClient | None = field(default=None, repr=False)
    _secrets_of: datetime | None = field(default=None, repr=False)  # the connection the cached secrets belong to

    def connect(self, corp_id: str, agent_id: str, credentials: Credentials) -> Connection:
        _check_shapes(corp_id, agent_id, credentials)
        trial = self.make_client(corp_id=corp_id, secret=credentials.secret, tokens=_OneOffTokens())
        try:
            trial.check_credentials()
        except WecomApiError as error:
            raise InvalidInput(
                f"WeCom refused these credentials (errcode {error.errcode}: {error.errmsg}); check corp_id "
                "and the app secret (应用管理 → your self-built app → Secret)"
            ) from None
        checks = (
            ("access_token", OK),
            ("contacts", _check(trial, "/cgi-bin/externalcontact/get_follow_user_list", None)),
            ("app", _check(trial, "/cgi-bin/agent/get", {"agentid": agent_id})),
        )
        connection = Connection(corp_id=corp_id, agent_id=agent_id, connected_at=self.clock(), checks=checks)
        self.secrets.put(credentials)
        self.store.save_connection(connection)
        self._client = None
        return connection

    def disconnect(self) -> None:
        self.store.drop_connection()
        self.secrets.clear()
        self._client = None

    def current(self) -> tuple[Connection, Credentials] | None:
        """The connection and its secrets. The secrets are cached per container; when the
        connection item shows a (re)connect this container has not read the secrets of (made by
        another container), they are read afresh, so new callback settings work at once."""
        connection = self.store.connection()
        if connection is None:
            return None
        credentials = self.secrets.get(fresh=connection.connected_at != self._secrets_of)
        if credentials is None:
            return None
        self._secrets_of = connection.connected_at
        return connection, credentials

    def client(self) -> WecomClient:
        """The client of the connected corp (Conflict when none is connected)."""
        current = self.current()
        if current is None:
            raise Conflict("WeCom is not connected: connect it with PUT /admin/wecom first")
        connection, credentials = current
        if self._client is None or (self._client.corp_id, self._client.secret) != (
            connection.corp_id,
            credentials.secret,
        ):
            self._client = self.make_client(corp_id=connection.corp_id, secret=credentials.secret, tokens=self.store)
        return self._client

    def callback_crypto(self) -> CallbackCrypto | None:
        current = self.current()
        if current is None:
            return None
        connection, credentials = current
        return CallbackCrypto(credentials.token, credentials.encoding_aes_key, connection.corp_id)


def mask(value: str) -> str:
    """A secret as the API shows it: enough to tell two apart, never enough to use."""
    return "******" + value[-3:] if len(value) >= 12 else "******"


def _check(client: WecomClient, path: str, query: dict[str, str] | None) -> str:
    try:
        client.get(path, query)
    except WecomApiError as error:
        return f"errcode {error.errcode}: {error.errmsg}"
    return OK


def _check_shapes(corp_id: str, agent_id: str, credentials: Credentials) -> None:
    problems = []
    if not CORP_ID.match(corp_id):
        problems.append("corp_id must be the corp's id (我的企业 → 企业ID), letters and digits")
    if not AGENT_ID.match(agent_id):
        problems.append("agent_id must be the app's AgentId, digits only")
    if not SECRET.match(credentials.secret):
        problems.append("secret must be the app's Secret (8 to 128 visible characters)")
    if not TOKEN.match(credentials.token):
        problems.append("token must be the callback Token: 1 to 32 letters and digits")
    if not valid_encoding_aes_key(credentials.encoding_aes_key):
        problems.append("encoding_aes_key must be the callback EncodingAESKey: 43 characters of base64")
    if problems:
        raise InvalidInput("; ".join(problems))
