"""A fake Telegram Bot API on loopback: a real HTTP/1.1 server that a real PTB Application talks to.

    async with FakeBotAPI() as api:
        app = build_application(settings(telegram_base_url=api.base_url), token="123:abc")
        api.user_says("/subscribe japan autos", chat_id=42)
        [reply] = await api.wait_for_messages(42)

It answers the methods the bot uses (getMe, getUpdates as a long poll, sendMessage, editMessageText,
answerCallbackQuery, setMyCommands, sendPhoto (the file kept as bytes), getChatMember, getChatAdministrators,
deleteWebhook, close, logOut), records every call (`count("getChatAdministrators")`), queues what users do
(messages, edits of them, button presses, a channel's posts), and can be scripted to fail the next sends to one
chat the ways Telegram fails:
429 with retry_after, 403, 400 "can't parse entities", a group migrated to a supergroup, 502, and a
connection dropped without an answer.

Run as a program (`python -m tests.fake_bot_api`) it prints its base URL and serves until stdin closes;
`GET /_fake/received` then returns every sendMessage with the time it arrived (for the benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import itertools
import json
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

BOT_ID = 999_000_002
BOT_USERNAME = "chokepoint_test_bot"
DEFAULT_LIFETIME = 120.0
MAX_BODY = 1_000_000
INT_FIELDS = frozenset({"chat_id", "user_id", "message_id", "offset", "limit", "timeout", "from_chat_id"})
JSON_FIELDS = frozenset({"reply_markup", "entities", "allowed_updates", "commands", "link_preview_options", "scope"})
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}


# ---- scripted faults -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryAfterFault:
    """429 Too Many Requests with parameters.retry_after."""

    seconds: int

    def answer(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body Telegram sends."""
        description = f"Too Many Requests: retry after {self.seconds}"
        return 429, _error(429, description, {"retry_after": self.seconds})


@dataclass(frozen=True, slots=True)
class ForbiddenFault:
    """403: the user blocked the bot (or it was removed from the group)."""

    def answer(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body Telegram sends."""
        return 403, _error(403, "Forbidden: bot was blocked by the user")


@dataclass(frozen=True, slots=True)
class CantParseFault:
    """400: the HTML of the message is not what Telegram accepts."""

    def answer(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body Telegram sends."""
        return 400, _error(400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0')


@dataclass(frozen=True, slots=True)
class MigrateFault:
    """400 with parameters.migrate_to_chat_id: the group became a supergroup."""

    new_chat_id: int

    def answer(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body Telegram sends."""
        description = "Bad Request: group chat was upgraded to a supergroup chat"
        return 400, _error(400, description, {"migrate_to_chat_id": self.new_chat_id})


@dataclass(frozen=True, slots=True)
class BadGatewayFault:
    """502 Bad Gateway from the proxy in front of the Bot API, with an HTML body."""

    def answer(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status; the body is not JSON (see `_raw_answer`)."""
        return 502, {}


@dataclass(frozen=True, slots=True)
class DropConnectionFault:
    """The connection is closed after the request arrives, with no answer at all."""


Fault = RetryAfterFault | ForbiddenFault | CantParseFault | MigrateFault | BadGatewayFault | DropConnectionFault


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


# ---- HTTP ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told otherwise."""
        return self.headers.get("connection", "").lower() != "close"


class DropConnection(Exception):
    """Close the connection without answering."""


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; None at the end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length", "0") or 0), MAX_BODY)
    body = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, body)


def encode_response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    """An HTTP/1.1 response with a body."""
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode("latin-1") + body


def parse_parameters(request: Request) -> dict[str, Any]:
    """The Bot API parameters of a request, sent as JSON, a form, or multipart."""
    content_type = request.headers.get("content-type", "")
    if not request.body:
        return {}
    if content_type.startswith("application/json"):
        loaded = json.loads(request.body)
        return dict(loaded) if isinstance(loaded, dict) else {}
    if content_type.startswith("multipart/form-data"):
        return _typed(_multipart_fields(content_type, request.body))
    return _typed(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))


def _multipart_fields(content_type: str, body: bytes) -> list[tuple[str, str | bytes]]:
    """The fields of a multipart body; an uploaded file (a part with a filename) stays bytes."""
    message = email.parser.BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: list[tuple[str, str | bytes]] = []
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields.append((name, payload if part.get_filename() else payload.decode("utf-8", "replace")))
    return fields


def _typed(fields: Iterable[tuple[str, str | bytes]]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for name, value in fields:
        parameters[name] = value if isinstance(value, bytes) else _typed_value(name, value)
    return parameters


def _typed_value(name: str, value: str) -> Any:
    if name in INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if name in JSON_FIELDS or value in ("true", "false"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


# ---- the fake --------------------------------------------------------------------------------------------------


class FakeBotAPI:
    """A Bot API server on 127.0.0.1 with an ephemeral port; stops on leaving the `async with`."""

    def __init__(
        self,
        *,
        username: str = BOT_USERNAME,
        delay: float = 0.0,
        lifetime: float = DEFAULT_LIFETIME,
        keep_records: bool = True,
    ) -> None:
        self.username = username
        self.delay = delay  # seconds before answering each sendMessage
        self.lifetime = lifetime  # the server closes itself after this many seconds, whatever happens
        self.keep_records = keep_records
        self.calls: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []  # every sendMessage, answered or failed
        self.received: list[tuple[float, int]] = []  # (arrival time, chat id) of each successful sendMessage
        self.edited: list[dict[str, Any]] = []
        self.photos: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: list[Any] = []  # the default command menu
        self.menus: dict[str, list[Any]] = {}  # every command menu by language code ('' for the default)
        self._faults: dict[int, deque[Fault]] = defaultdict(deque)
        self._admins: dict[int, list[int]] = {}
        self._chat_types: dict[int, str] = {}
        self._updates: list[dict[str, Any]] = []
        self._said: dict[int, dict[str, Any]] = {}  # update id → the message a user sent (for user_edits)
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._tick = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._closing = False
        self._connections: set[asyncio.StreamWriter] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self.port = 0

    # -- lifecycle

    async def __aenter__(self) -> FakeBotAPI:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._watchdog = asyncio.create_task(self._expire())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Answer the pending long polls, close every connection and the listening socket."""
        self._closing = True
        self._notify()
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
            self._server = None

    async def _expire(self) -> None:
        await asyncio.sleep(self.lifetime)
        await self.close()

    @property
    def base_url(self) -> str:
        """What TELEGRAM_BASE_URL should be; PTB appends the token and the method."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- scripting

    def user_says(
        self,
        text: str,
        *,
        chat_id: int,
        user_id: int | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """Queue a message update (with a bot_command entity for '/...') from a user whose Telegram app shows
        `language_code`; return its update id."""
        self._chat_types[chat_id] = chat_type
        message = self._text_message(text, chat_id, chat_type, chat_title, next(self._message_ids[chat_id]))
        message["from"] = self._user(
            user_id if user_id is not None else _default_user(chat_id, chat_type), language_code
        )
        update_id = self._queue({"message": message})
        self._said[update_id] = message
        return update_id

    def user_edits(self, update_id: int, text: str) -> int:
        """Queue an edited_message update: the message update `update_id` carried now reads `text`."""
        original = self._said[update_id]
        message = {**self._text_message(text, 0, "private", None, original["message_id"]), "chat": original["chat"]}
        message.update({"from": original["from"], "edit_date": int(time.time())})
        return self._queue({"edited_message": message})

    def channel_post(self, text: str, *, chat_id: int, author_id: int | None = None, title: str | None = None) -> int:
        """Queue a channel_post update: posted as the channel, signed with its author's profile when given."""
        self._chat_types[chat_id] = "channel"
        message = self._text_message(text, chat_id, "channel", title, next(self._message_ids[chat_id]))
        message["sender_chat"] = self._chat(chat_id, "channel", title)
        if author_id is not None:
            message["from"] = self._user(author_id)
        return self._queue({"channel_post": message})

    def _text_message(
        self, text: str, chat_id: int, chat_type: str, chat_title: str | None, message_id: int
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type, chat_title),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return message

    def press_button(self, data: str, *, chat_id: int, message_id: int, user_id: int | None = None) -> int:
        """Queue a callback query from an inline keyboard button; return its update id."""
        chat_type = self._chat_types.get(chat_id, "private" if chat_id > 0 else "group")
        user = self._user(user_id if user_id is not None else _default_user(chat_id, chat_type))
        query = {
            "id": str(next(self._update_ids) + 10_000),
            "from": user,
            "chat_instance": str(chat_id),
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id, chat_type, None),
                "text": "",
            },
        }
        return self._queue({"callback_query": query})

    def fail(self, chat_id: int, *faults: Fault) -> None:
        """Answer the next sends to this chat with these faults, in order."""
        self._faults[chat_id].extend(faults)

    def set_admins(self, chat_id: int, user_ids: Iterable[int]) -> None:
        """Who getChatMember and getChatAdministrators report as administrators of a group."""
        self._admins[chat_id] = list(user_ids)

    async def wait_for_messages(self, chat_id: int, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The sendMessage parameters received for a chat, in order, once there are at least `count`."""
        try:
            await self._until(lambda: len(self.messages_to(chat_id)) >= count, timeout)
        except TimeoutError:
            got = [m.get("text", "")[:60] for m in self.messages_to(chat_id)]
            raise AssertionError(f"chat {chat_id}: expected {count} messages within {timeout}s, got {got}") from None
        return self.messages_to(chat_id)

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds (checked after every call the server answers)."""
        try:
            await self._until(predicate, timeout)
        except TimeoutError:
            raise AssertionError(f"condition not reached within {timeout}s; calls: {self.calls[-10:]}") from None

    async def _until(self, predicate: Callable[[], object], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not (predicate() or self._closing):
                await self._tick.wait()

    def _notify(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The sendMessage parameters received for one chat so far."""
        return [message for message in self.sent if message.get("chat_id") == chat_id]

    def count(self, method: str) -> int:
        """How many times the bot called this Bot API method."""
        return self.calls.count(method)

    # -- serving

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while not self._closing:
                request = await read_request(reader)
                if request is None:
                    break
                writer.write(await self._respond(request))
                await writer.drain()
                if not request.keep_alive:
                    break
        except (DropConnection, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _respond(self, request: Request) -> bytes:
        if request.path.startswith("/_fake/received"):
            return encode_response(200, json.dumps(self.received).encode())
        method = request.path.rstrip("/").rsplit("/", 1)[-1]
        parameters = parse_parameters(request)
        self.calls.append(method)
        try:
            status, body = await self._answer(method, parameters)
        finally:
            self._notify()
        if status == 502:
            return encode_response(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        return encode_response(status, json.dumps(body).encode())

    async def _answer(self, method: str, parameters: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return 200, _ok(await self._get_updates(parameters))
        if method in ("sendMessage", "editMessageText"):
            return await self._message(method, parameters)
        if method == "sendPhoto":
            return 200, _ok(self._photo(parameters))
        handler = {
            "getMe": lambda p: self._user(BOT_ID, bot=True),
            "getChatMember": self._chat_member,
            "getChatAdministrators": self._administrators,
            "answerCallbackQuery": self._answer_callback,
            "setMyCommands": self._set_commands,
        }.get(method)
        if handler is not None:
            return 200, _ok(handler(parameters))
        if method in ("deleteWebhook", "close", "logOut", "deleteMyCommands", "sendChatAction"):
            return 200, _ok(True)
        return 404, _error(404, "Not Found: method not found")

    async def _message(self, method: str, parameters: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = int(parameters.get("chat_id", 0))
        if method == "sendMessage" and self.keep_records:
            self.attempts.append(parameters)
        if self.delay:
            await asyncio.sleep(self.delay)
        queue = self._faults.get(chat_id)
        if queue:
            fault = queue.popleft()
            if isinstance(fault, DropConnectionFault):
                raise DropConnection
            return fault.answer()
        return 200, _ok(self._record(method, chat_id, parameters))

    def _record(self, method: str, chat_id: int, parameters: dict[str, Any]) -> dict[str, Any]:
        if method == "sendMessage":
            self.received.append((time.time(), chat_id))
            message_id = next(self._message_ids[chat_id])
            if self.keep_records:
                self.sent.append(parameters)
        elif method == "sendPhoto":
            message_id = next(self._message_ids[chat_id])
        else:
            message_id = int(parameters.get("message_id", 0))
            self.edited.append(parameters)
        chat_type = self._chat_types.get(chat_id, "private" if chat_id > 0 else "group")
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type, None),
            "from": self._user(BOT_ID, bot=True),
            "text": str(parameters.get("text", "")),
        }

    def _photo(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Record a sendPhoto with the uploaded file's bytes under "photo" (PTB names the part in `attach://`)."""
        chat_id = int(parameters.get("chat_id", 0))
        attached = str(parameters.get("photo", ""))
        if attached.startswith("attach://"):
            parameters = {**parameters, "photo": parameters.get(attached.removeprefix("attach://"), b"")}
        self.photos.append(parameters)
        message = self._record("sendPhoto", chat_id, parameters)
        return {**message, "photo": [{"file_id": "photo", "file_unique_id": "photo", "width": 1, "height": 1}]}

    def photos_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The sendPhoto parameters received for one chat so far (the file's bytes under "photo")."""
        return [photo for photo in self.photos if photo.get("chat_id") == chat_id]

    async def _get_updates(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(parameters.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = min(float(parameters.get("timeout") or 0), 5.0)
        with contextlib.suppress(TimeoutError):
            await self._until(lambda: bool(self._updates), timeout)
        limit = int(parameters.get("limit") or 100)
        return self._updates[:limit]

    def _queue(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._notify()
        return update_id

    def _chat_member(self, parameters: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = int(parameters["chat_id"]), int(parameters["user_id"])
        if user_id in self._admins.get(chat_id, []):
            return _administrator(self._user(user_id))
        return {"status": "member", "user": self._user(user_id)}

    def _administrators(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = int(parameters["chat_id"])
        return [_administrator(self._user(user_id)) for user_id in self._admins.get(chat_id, [])]

    def _answer_callback(self, parameters: dict[str, Any]) -> bool:
        self.callback_answers.append(parameters)
        return True

    def _set_commands(self, parameters: dict[str, Any]) -> bool:
        commands = list(parameters.get("commands") or [])
        self.menus[str(parameters.get("language_code") or "")] = commands
        if not parameters.get("language_code"):
            self.commands = commands
        return True

    def _user(self, user_id: int, language_code: str | None = None, *, bot: bool = False) -> dict[str, Any]:
        if bot:
            return {
                "id": user_id,
                "is_bot": True,
                "first_name": "Chokepoint",
                "username": self.username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        return user | ({"language_code": language_code} if language_code else {})

    @staticmethod
    def _chat(chat_id: int, chat_type: str, title: str | None) -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
        return {"id": chat_id, "type": chat_type, "title": title or f"group {chat_id}"}


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _default_user(chat_id: int, chat_type: str) -> int:
    return chat_id if chat_type == "private" else 4242


def _administrator(user: dict[str, Any]) -> dict[str, Any]:
    rights = [
        "can_be_edited",
        "is_anonymous",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
    ]
    return {"status": "administrator", "user": user, **dict.fromkeys(rights, False), "can_manage_chat": True}


async def serve_until_stdin_closes(delay: float = 0.0) -> None:
    """Serve in this process (for the benchmark): print the base URL, stop when stdin closes."""
    async with FakeBotAPI(delay=delay, lifetime=3_600, keep_records=False) as api:
        sys.stdout.write(api.base_url + "\n")
        sys.stdout.flush()
        await asyncio.to_thread(sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(serve_until_stdin_closes(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0))
