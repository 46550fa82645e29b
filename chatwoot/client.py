"""The Chatwoot REST client: one requests.Session, one method per endpoint, typed results.

Every failure leaves as a ChatwootError marked transient or permanent. The client never
retries; the caller (a job or the outbox) decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

import requests

from chatwoot.answers import (
    conversation_from_api,
    labels_from_api,
    message_from_api,
    messages_from_api,
    status_from_api,
)
from chatwoot.errors import ChatwootError
from chatwoot.types import STATUSES, ChatwootMessage, ConversationSnapshot

T = TypeVar("T")
Token = Literal["bot", "user"]

_EXCERPT_CHARS = 200

# A dropped connection mid-body is as retryable as one that never opened.
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class ChatwootClient:
    """Calls a Chatwoot account's REST API as the agent bot (and, for reads, as a user).

    A bot token works in its own account and in every account where the bot is attached
    to an inbox (CONTRACT-NEXT §A), so one client serves many: ``for_account`` gives a
    client for another account on the same connection pool.
    """

    def __init__(
        self,
        base_url: str,
        account_id: int | None,
        bot_token: str | None,
        *,
        user_token: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._account_id = account_id
        self._prefix = f"/api/v1/accounts/{account_id}"
        self._tokens: dict[Token, str | None] = {"bot": bot_token, "user": user_token}
        self._timeout = timeout
        self._session = session or requests.Session()

    def for_account(self, account_id: int) -> ChatwootClient:
        """The same client, calling ``account_id``'s endpoints."""
        if account_id == self._account_id:
            return self
        return ChatwootClient(
            self._base_url,
            account_id,
            self._tokens["bot"],
            user_token=self._tokens["user"],
            timeout=self._timeout,
            session=self._session,
        )

    @property
    def can_list_messages(self) -> bool:
        """Listing messages needs the user token (bot tokens may not)."""
        return bool(self._tokens["user"])

    # --- messages ------------------------------------------------------------------------

    def create_message(
        self,
        conversation_id: int,
        content: str,
        *,
        private: bool = False,
        content_attributes: Mapping[str, Any] | None = None,
        echo_id: str | None = None,
        template_params: Mapping[str, Any] | None = None,
    ) -> ChatwootMessage:
        """Post a reply or, with ``private=True``, a private note, sent as the bot.

        Chatwoot echoes ``echo_id`` in this response only, never in webhooks; the bot's own
        message also comes back as a webhook, possibly before this call returns.
        """
        # Never a source_id: Chatwoot never sends a message that has one to the channel
        # (Base::SendOnChannelService#invalid_message?, CONTRACT-NEXT §2.5).
        body: dict[str, Any] = {
            "content": content,
            "message_type": "outgoing",
            "content_type": "text",
            "private": private,
        }
        if content_attributes is not None:
            body["content_attributes"] = dict(content_attributes)
        if echo_id is not None:
            body["echo_id"] = echo_id
        if template_params is not None:
            # An approved WhatsApp template: Chatwoot stores these in the message's
            # additional_attributes and sends the template, not ``content`` (CONTRACT-NEXT
            # §2.1). Never with a campaign_id: Chatwoot's shallow merge would keep only one.
            body["template_params"] = dict(template_params)
        path = f"/conversations/{conversation_id}/messages"
        return self._fetch("POST", path, message_from_api, token="bot", body=body)

    def list_messages(
        self, conversation_id: int, *, before: int | None = None, after: int | None = None
    ) -> list[ChatwootMessage]:
        """Messages in ascending order, private notes and activity messages included.

        Chatwoot returns the latest 20 without arguments, 20 older than ``before``, up to 100
        newer than ``after``. Needs the user token: bot tokens may not list messages.
        """
        params = {
            key: value for key, value in (("before", before), ("after", after)) if value is not None
        }
        path = f"/conversations/{conversation_id}/messages"
        return self._fetch("GET", path, messages_from_api, token="user", params=params)

    # --- conversation state --------------------------------------------------------------

    def get_conversation(self, conversation_id: int) -> ConversationSnapshot:
        """The conversation as Chatwoot shows it, with only its last message."""
        path = f"/conversations/{conversation_id}"
        return self._fetch("GET", path, conversation_from_api, token="bot")

    def toggle_status(
        self, conversation_id: int, status: str, *, snoozed_until: int | None = None
    ) -> str:
        """Set the status and return the one Chatwoot reports back.

        A bot moving a ``pending`` conversation to ``open`` is Chatwoot's bot handoff: it
        notifies the inbox's agents. ``snoozed_until`` is unix seconds.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if snoozed_until is not None and status != "snoozed":
            raise ValueError("snoozed_until only applies to status 'snoozed'")
        # Always send `status`: without it Chatwoot toggles instead of setting.
        body: dict[str, Any] = {"status": status}
        if snoozed_until is not None:
            body["snoozed_until"] = snoozed_until
        path = f"/conversations/{conversation_id}/toggle_status"
        return self._fetch("POST", path, status_from_api, token="bot", body=body)

    def toggle_typing(self, conversation_id: int, on: bool) -> None:
        """Show or hide the typing indicator; Chatwoot relays it over ActionCable only."""
        body = {"typing_status": "on" if on else "off", "is_private": False}
        self._send("POST", f"/conversations/{conversation_id}/toggle_typing_status", "bot", body)

    def assign(
        self, conversation_id: int, *, assignee_id: int | None = None, team_id: int | None = None
    ) -> None:
        """Assign to an agent or to a team (exactly one).

        Chatwoot ignores ``team_id`` when ``assignee_id`` is present, so both at once would
        silently drop the team.
        """
        if (assignee_id is None) == (team_id is None):
            raise ValueError("pass exactly one of assignee_id and team_id")
        body = {"assignee_id": assignee_id} if assignee_id is not None else {"team_id": team_id}
        self._send("POST", f"/conversations/{conversation_id}/assignments", "bot", body)

    # --- labels --------------------------------------------------------------------------

    def get_labels(self, conversation_id: int) -> list[str]:
        """The conversation's labels."""
        path = f"/conversations/{conversation_id}/labels"
        return self._fetch("GET", path, labels_from_api, token="bot")

    def add_labels(self, conversation_id: int, labels: Iterable[str]) -> list[str]:
        """Add labels, keeping the existing ones; returns the resulting set.

        Chatwoot replaces the whole label set on POST, so this reads, merges and writes.
        That is not atomic: a label a human adds between the read and the write is lost.
        """
        current = self.get_labels(conversation_id)
        wanted = current + [label for label in dict.fromkeys(labels) if label not in current]
        return self._write_labels(conversation_id, current, wanted)

    def remove_labels(self, conversation_id: int, labels: Iterable[str]) -> list[str]:
        """Remove labels, keeping the others; returns the resulting set.

        Chatwoot replaces the whole label set on POST, so this reads, filters and writes.
        """
        current = self.get_labels(conversation_id)
        unwanted = set(labels)
        return self._write_labels(
            conversation_id, current, [label for label in current if label not in unwanted]
        )

    def _write_labels(
        self, conversation_id: int, current: list[str], wanted: list[str]
    ) -> list[str]:
        if wanted == current:
            return current
        path = f"/conversations/{conversation_id}/labels"
        return self._fetch("POST", path, labels_from_api, token="bot", body={"labels": wanted})

    # --- HTTP ----------------------------------------------------------------------------

    def _fetch(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        token: Token,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> T:
        response = self._send(method, path, token, body, params)
        try:
            # A non-JSON body raises ValueError too (requests' JSONDecodeError).
            return parse(response.json())
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise self._error(
                f"{method} {self._prefix + path} returned {response.status_code} with an "
                f"unexpected body ({exc.__class__.__name__}: {exc}): {_excerpt(response.text)}",
                transient=False,
                status=response.status_code,
            ) from None

    def _send(
        self,
        method: str,
        path: str,
        token: Token,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        if self._account_id is None:
            raise ValueError("this client has no account: use for_account(account_id)")
        api_token = self._token(token)
        full_path = self._prefix + path
        try:
            response = self._session.request(
                method,
                self._base_url + full_path,
                headers={"api_access_token": api_token},
                json=body,
                params=params,
                timeout=self._timeout,
                # requests keeps custom headers across a redirect to another host, which
                # would hand the token to it; Chatwoot's API never redirects.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # `from None`: the message carries the cause, redacted; a chained original would
            # put its unredacted text into every logged traceback.
            raise self._error(
                f"{method} {full_path} failed: {exc.__class__.__name__}: {_excerpt(str(exc))}",
                transient=isinstance(exc, _TRANSIENT),
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        transient = status == 429 or status >= 500
        raise self._error(
            f"{method} {full_path} returned {status}: {_excerpt(response.text)}",
            transient=transient,
            status=status,
        )

    def _token(self, which: Token) -> str:
        token = self._tokens[which]
        if token:
            return token
        if which == "user":
            reason = "bot tokens may not list conversations or messages"
            raise ChatwootError(f"CHATWOOT_USER_TOKEN is not set; {reason}", transient=False)
        # No fallback to the user token: Chatwoot would then post as that human, and the
        # bot recognises its own echoes by sender.
        raise ChatwootError("CHATWOOT_BOT_TOKEN is not set", transient=False)

    def _error(self, message: str, *, transient: bool, status: int | None = None) -> ChatwootError:
        for token in self._tokens.values():
            if token:
                message = message.replace(token, "[redacted]")
        return ChatwootError(f"Chatwoot {message}", transient=transient, status=status)


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[:_EXCERPT_CHARS] + "…"
