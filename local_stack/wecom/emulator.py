"""The WeCom emulator's HTTP server: WeCom's /cgi-bin/ API (see api.py) and the /_emulator/ control
routes that play the customers (scan a QR, leave a group, delete a follow) and the members (confirm
a 企业群发 task), show the calls the stack made, the 企业群发 tasks and the app messages sent, expire
tokens, inject faults and run WeCom's callback URL verification.

It runs on a threaded werkzeug BackgroundServer. One lock guards the state; callbacks are sent over
HTTP only once it is released (the stack's callback handler may call the emulator back).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qrcode
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local_stack.background import BackgroundServer
from local_stack.wecom import activity, api, callbacks, customers, errors, groupmsg
from local_stack.wecom.callbacks import CallbackConfig
from local_stack.wecom.model import Event, World

MASKED = ("corpsecret", "access_token")

CONTROL = Map(
    [
        Rule("/_emulator/scan", endpoint="scan", methods=["POST"]),
        Rule("/_emulator/chats/<chat_id>/leave", endpoint="leave", methods=["POST"]),
        Rule("/_emulator/chats/<chat_id>/speak", endpoint="speak", methods=["POST"]),
        Rule("/_emulator/contacts/<external_userid>/delete", endpoint="delete", methods=["POST"]),
        Rule("/_emulator/groupmsg", endpoint="groupmsg", methods=["GET"]),
        Rule("/_emulator/groupmsg/<msgid>/confirm", endpoint="confirm", methods=["POST"]),
        Rule("/_emulator/messages", endpoint="messages", methods=["GET"]),
        Rule("/_emulator/calls", endpoint="calls", methods=["GET", "DELETE"]),
        Rule("/_emulator/callbacks", endpoint="callbacks", methods=["GET"]),
        Rule("/_emulator/tokens/expire", endpoint="expire", methods=["POST"]),
        Rule("/_emulator/faults", endpoint="faults", methods=["POST"]),
        Rule("/_emulator/callbacks/verify", endpoint="verify", methods=["POST"]),
        Rule("/_emulator/qr/<config_id>.png", endpoint="qr", methods=["GET"]),
    ]
)


@dataclass
class Fault:
    path: str | None  # None: any /cgi-bin/ path
    errcode: int
    times: int


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status, mimetype="application/json")


def qr_png(content: str) -> bytes:
    code = qrcode.QRCode(box_size=8, border=4)
    code.add_data(content)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


class WecomEmulator:
    def __init__(
        self,
        callback_config: Callable[[str], CallbackConfig | None],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.time,
        state_file: Path | None = None,
    ):
        self._callback_config = callback_config
        self._clock = clock
        self._lock = threading.Lock()
        self._state_file = state_file
        self._world = World()
        if state_file is not None and state_file.exists():
            # The emulated WeCom's own memory (its ways, groups, contacts, tags), kept across restarts
            # of the local stack like the AWS emulator's data. Our own file, written by save().
            self._world = pickle.loads(state_file.read_bytes())  # noqa: S301
        self._calls: list[dict[str, Any]] = []
        self._callbacks: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._server = BackgroundServer(self._app, host, port, "wecom-emulator")

    @property
    def base_url(self) -> str:
        return self._server.url

    def start(self) -> WecomEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self.save()

    def save(self) -> None:
        """Write the emulated WeCom's state to `state_file` (if it has one)."""
        if self._state_file is None:
            return
        with self._lock:
            data = pickle.dumps(self._world)
        temporary = self._state_file.with_name(self._state_file.name + ".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self._state_file)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._cgi_bin(request) if request.path.startswith("/cgi-bin/") else self._control(request)
        return response(environ, start_response)

    # /cgi-bin/

    def _cgi_bin(self, request: Request) -> Response:
        path = request.path
        query = request.args.to_dict()
        shown_query = {k: "***" if k in MASKED else v for k, v in query.items()}
        try:
            body, shown_body, files = self._parse(request)
        except ValueError:
            body, shown_body, files = None, None, {}
        status = 200 if path == "/cgi-bin/gettoken" or path in api.ENDPOINTS else 404
        with self._lock:
            if status == 404:
                answer = {"errcode": -1, "errmsg": f"unknown path {path}"}
            elif body is None and request.method == "POST":
                answer = errors.answer(errors.DATA_FORMAT_ERROR, "the body is not a JSON object")
            else:
                answer = self._answer(path, query, body or {}, files)
            self._calls.append({"path": path, "query": shown_query, "body": shown_body, "response": answer})
        return json_response(answer, status)

    @staticmethod
    def _parse(request: Request) -> tuple[dict[str, Any] | None, Any, dict[str, bytes]]:
        """(body, body as logged, uploaded files) of one request."""
        if request.method == "GET":
            return {}, None, {}
        if request.mimetype == "multipart/form-data":
            files = {name: upload.read() for name, upload in request.files.items()}
            return {}, {"fields": [*request.form.keys(), *request.files.keys()]}, files
        raw = request.get_data(as_text=True)
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body, body, {}

    def _answer(self, path: str, query: dict[str, str], body: dict[str, Any], files: dict[str, bytes]) -> Any:
        now = self._clock()
        fault = self._take_fault(path)
        if fault is not None:
            return errors.answer(fault, "injected by the emulator")
        try:
            if path == "/cgi-bin/gettoken":
                return api.gettoken(self._world, query, now)
            token = query.get("access_token")
            if not token:
                raise errors.ApiError(errors.ACCESS_TOKEN_MISSING)
            corp_id = self._world.corp_of(token, now)
            call = api.Call(self._world, corp_id, now, self.base_url, query, body, files)
            return api.ENDPOINTS[path][1](call)
        except errors.ApiError as error:
            return errors.answer(error.errcode, error.detail)

    def _take_fault(self, path: str) -> int | None:
        for fault in self._faults:
            if fault.times > 0 and fault.path in (None, path):
                fault.times -= 1
                return fault.errcode
        return None

    # /_emulator/

    def _control(self, request: Request) -> Response:
        try:
            endpoint, values = CONTROL.bind_to_environ(request.environ).match()
            handler: Callable[..., Response] = getattr(self, f"_control_{endpoint}")
            return handler(request, **values)
        except NotFound:
            return json_response({"errcode": -1, "errmsg": f"unknown path {request.path}"}, 404)
        except HTTPException as error:
            return json_response({"message": error.description}, error.code or 400)

    @staticmethod
    def _json(request: Request) -> dict[str, Any]:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}

    def _deliver(self, events: list[Event]) -> list[dict[str, Any]]:
        """Send the events (the lock released): every attempt's answer, each one recorded."""
        attempts: list[dict[str, Any]] = []
        for event in events:
            config = self._callback_config(event.corp_id)
            sent = callbacks.send(config, event) if config is not None else []
            with self._lock:
                self._callbacks.append({"corp_id": event.corp_id, "xml": callbacks.event_xml(event), "attempts": sent})
            attempts += sent
        return attempts

    def _customer_action(self, action: Callable[[], Any]) -> tuple[Any, Response | None]:
        with self._lock:
            try:
                return action(), None
            except customers.NotFound as error:
                return None, json_response({"message": str(error)}, 404)
            except customers.Conflict as error:
                return None, json_response({"message": str(error)}, 409)

    def _control_scan(self, request: Request) -> Response:
        body = self._json(request)
        external_userid = str(body.get("external_userid") or f"wm{time.monotonic_ns():x}")
        name = str(body.get("name") or external_userid)
        url = str(body.get("url", ""))
        outcome, refused = self._customer_action(
            lambda: customers.scan(self._world, url, external_userid, name, self._clock())
        )
        if refused is not None:
            return refused
        key = "user_id" if outcome.kind == "contact" else "chat_id"
        sent = self._deliver(outcome.events)
        return json_response({"kind": outcome.kind, key: outcome.target, "external_userid": external_userid,
                              "callbacks": sent})  # fmt: skip

    def _control_leave(self, request: Request, chat_id: str) -> Response:
        external_userid = str(self._json(request).get("external_userid", ""))
        event, refused = self._customer_action(
            lambda: customers.leave(self._world, chat_id, external_userid, self._clock())
        )
        return refused or json_response({"callbacks": self._deliver([event])})

    def _control_speak(self, request: Request, chat_id: str) -> Response:
        external_userid = str(self._json(request).get("external_userid", ""))
        said, refused = self._customer_action(
            lambda: activity.speak(self._world, chat_id, external_userid, self._clock())
        )
        return refused or json_response(said)

    def _control_delete(self, request: Request, external_userid: str) -> Response:
        body = self._json(request)
        userid, by = str(body.get("userid", "")), str(body.get("by") or "customer")
        event, refused = self._customer_action(
            lambda: customers.delete(self._world, external_userid, userid, by, self._clock())
        )
        return refused or json_response({"callbacks": self._deliver([event])})

    def _control_groupmsg(self, request: Request) -> Response:
        with self._lock:
            return json_response([task.json() for task in self._world.group_msgs.values()])

    def _control_confirm(self, request: Request, msgid: str) -> Response:
        """The sender confirms the task in their WeCom client: it is sent to their recipients."""
        sender = str(self._json(request).get("sender", ""))
        with self._lock:
            try:
                sent = groupmsg.confirm(self._world, msgid, sender, self._clock())
            except LookupError as error:
                return json_response({"message": str(error.args[0])}, 404)
            except groupmsg.Refused as error:
                return json_response({"message": str(error)}, 409)
            results = [{k: v for k, v in r.json().items() if k != "userid"} for r in sent]
        return json_response({"msgid": msgid, "sender": sender, "results": results})

    def _control_messages(self, request: Request) -> Response:
        with self._lock:
            return json_response(list(self._world.app_messages))

    def _control_calls(self, request: Request) -> Response:
        with self._lock:
            if request.method == "DELETE":
                self._calls.clear()
                return json_response({"cleared": True})
            return json_response(list(self._calls))

    def _control_callbacks(self, request: Request) -> Response:
        with self._lock:
            return json_response(list(self._callbacks))

    def _control_expire(self, request: Request) -> Response:
        with self._lock:
            self._world.expire_tokens(self._clock())
        return json_response({"expired": True})

    def _control_faults(self, request: Request) -> Response:
        body = self._json(request)
        path, errcode, times = body.get("path"), body.get("errcode"), body.get("times", 1)
        if not isinstance(errcode, int) or not isinstance(times, int) or not (path is None or isinstance(path, str)):
            message = "give errcode (int), times (int) and path (a /cgi-bin/ path or null)"
            return json_response({"message": message}, 400)
        with self._lock:
            self._faults.append(Fault(path, errcode, times))
        return json_response({"path": path, "errcode": errcode, "times": times})

    def _control_verify(self, request: Request) -> Response:
        corp_id = str(self._json(request).get("corp_id", ""))
        config = self._callback_config(corp_id)
        if config is None:
            return json_response({"message": f"corp {corp_id!r} has no callback configured"}, 404)
        return json_response(callbacks.verify(config, corp_id))

    def _control_qr(self, request: Request, config_id: str) -> Response:
        with self._lock:
            way = self._world.contact_ways.get(config_id) or self._world.join_ways.get(config_id)
            content = way.qr_content if way is not None else ""
        if not content:
            return json_response({"message": f"no QR for config id {config_id}"}, 404)
        return Response(qr_png(content), mimetype="image/png")
