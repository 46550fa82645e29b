"""ClaudeComposer: the one place that talks to the Anthropic SDK.

It owns the request shape (cached prefix, structured output, thinking and effort), our own
retry loop, usage accounting, and the translation of every SDK failure into ComposerError.

The request carries only what current models accept with thinking on: no sampling
parameters (temperature, top_p, top_k), no tools or forced tool_choice (structured output
gives the JSON), and no assistant prefill (the history always ends with the customer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

import anthropic
import httpx2
from anthropic.types import (
    CacheControlEphemeralParam,
    Message,
    MessageParam,
    OutputConfigParam,
    TextBlockParam,
    ThinkingConfigParam,
)

from workers.llm import REPLY_SCHEMA, ComposerError, Prompt, Reply, Role, Usage, parse_reply

if TYPE_CHECKING:
    from core.claude_options import Effort, ThinkingMode
    from core.settings import Settings

# The RQ job running compose() must have a timeout above this; see budget_seconds.
CALL_BUDGET_SECONDS = 120.0
# Passed explicitly: given None, the SDK would read ANTHROPIC_BASE_URL from the environment.
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_TIMEOUT_SECONDS = 35.0
DEFAULT_ATTEMPTS = 3
FIRST_WAIT_SECONDS = 2.0
WAIT_FACTOR = 4.0
MAX_WAIT_SECONDS = 8.0
# max_tokens bounds thinking and the reply together ("Thinking tokens count toward your
# max_tokens limit"; on the 5.5 models adaptive thinking is on unless turned off).
# The reply's JSON needs at most about 1,000 tokens: the length guardrail's 1,200 characters
# of bubbles, the questions answered, a handoff note and the JSON syntax come to about 2,000
# characters, at 2 characters a token for the densest scripts (Latin text is nearer 4).
REPLY_TOKENS = 1024
# Left for thinking: several times what adaptive thinking at low effort spends on a chat
# turn, which is often nothing; a typical reply's JSON is a few hundred tokens, so the
# unused part of REPLY_TOKENS adds to it.
THINKING_TOKENS = 1024
# Not more: one attempt must be able to finish within DEFAULT_TIMEOUT_SECONDS. At Sonnet's
# ~63 tokens/s (Artificial Analysis, Sonnet 4.5; the 5.5 models are faster) plus ~2 s to the
# first token, 2,048 tokens take ~34 s. A larger ceiling would turn a runaway think into a
# timeout, retried and paid for again, instead of one call that stops at max_tokens.
MAX_TOKENS = REPLY_TOKENS + THINKING_TOKENS
# Anthropic's own retry policy (the SDK's _should_retry): timeouts, lock conflicts, rate
# limits and every 5xx, which includes 529 overloaded.
RETRY_4XX = frozenset({408, 409, 429})
# The first turn must be the customer's; a last assistant turn would be prefill, which
# current models reject with a 400.
OPENING_TEXT = "(The conversation opens with our message below.)"
HINT_PREFIX = "Instruction from our sales rep (not from the customer; never quote it): "


def retry_waits(attempts: int) -> list[float]:
    """The waits between attempts: capped exponential without jitter, so the budget is exact."""
    return [min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * WAIT_FACTOR**i) for i in range(attempts - 1)]


def system_blocks(prompt: Prompt) -> list[TextBlockParam]:
    """Playbook then knowledge, with the cache breakpoint on the last: this is the prefix
    every turn of every conversation shares. The API rejects empty text blocks."""
    blocks: list[TextBlockParam] = [
        {"type": "text", "text": text}
        for text in (prompt.playbook, prompt.knowledge)
        if text.strip()
    ]
    if blocks:
        blocks[-1]["cache_control"] = _cache_control(prompt)
    return blocks


def message_params(prompt: Prompt) -> list[MessageParam]:
    """The history as alternating messages, one text block per stored turn.

    Separate blocks keep earlier block boundaries stable, so Anthropic's cache lookback (it
    checks earlier block boundaries before a breakpoint) finds the previous turn's prefix.
    The breakpoint sits on the newest turn; the rep's hint comes after it so the cached
    prefix is the same with and without a hint.
    """
    groups: list[tuple[Role, list[TextBlockParam]]] = []
    for turn in prompt.history:
        if not turn.text.strip():
            continue
        block: TextBlockParam = {"type": "text", "text": turn.text}
        if groups and groups[-1][0] == turn.role:
            groups[-1][1].append(block)
        else:
            groups.append((turn.role, [block]))
    if not groups:
        raise ComposerError("the history has no message to answer", transient=False)
    if groups[0][0] == "assistant":
        groups.insert(0, ("user", [{"type": "text", "text": OPENING_TEXT}]))
    groups[-1][1][-1]["cache_control"] = _cache_control(prompt)
    if prompt.hint and prompt.hint.strip():
        hint: TextBlockParam = {"type": "text", "text": HINT_PREFIX + prompt.hint.strip()}
        if groups[-1][0] == "user":
            groups[-1][1].append(hint)
        else:
            groups.append(("user", [hint]))
    if groups[-1][0] == "assistant":
        raise ComposerError("the history ends with our own message", transient=False)
    return [_message(role, blocks) for role, blocks in groups]


def _message(role: Role, blocks: list[TextBlockParam]) -> MessageParam:
    if role == "user":
        return {"role": "user", "content": blocks}
    return {"role": "assistant", "content": blocks}


def _cache_control(prompt: Prompt) -> CacheControlEphemeralParam:
    return {"type": "ephemeral", "ttl": prompt.cache_ttl}


def thinking_param(mode: ThinkingMode) -> ThinkingConfigParam:
    """The ``thinking`` field for a setting; each type is its own TypedDict in the SDK."""
    if mode == "adaptive":
        return {"type": "adaptive"}
    if mode == "between_tools":
        return {"type": "between_tools"}
    return {"type": "disabled"}


def usage_from(message: Message, *, requested_ttl: str, latency_ms: int) -> Usage:
    """Usage of one response. When only the total cache write is reported, it was written
    with the TTL we asked for, since every breakpoint we send uses that one TTL.

    ``output_tokens`` stays Anthropic's billed total; ``output_tokens_details`` splits out
    the thinking part (absent on models that don't report it: then 0)."""
    u = message.usage
    details = u.output_tokens_details
    if u.cache_creation is not None:
        write_5m = u.cache_creation.ephemeral_5m_input_tokens
        write_1h = u.cache_creation.ephemeral_1h_input_tokens
    else:
        total = u.cache_creation_input_tokens or 0
        write_5m, write_1h = (0, total) if requested_ttl == "1h" else (total, 0)
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        thinking_tokens=details.thinking_tokens if details is not None else 0,
        cache_read_input_tokens=u.cache_read_input_tokens or 0,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        model=message.model,
        latency_ms=latency_ms,
        request_id=message._request_id,
    )


def translate(exc: anthropic.AnthropicError) -> ComposerError:
    """The one translation of SDK failures: transient ones are worth another attempt."""
    if isinstance(exc, anthropic.APITimeoutError):
        return ComposerError("Claude did not answer in time", transient=True)
    if isinstance(exc, anthropic.APIConnectionError):
        return ComposerError(f"could not reach Claude: {exc}", transient=True)
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        # Anthropic marks its errors with x-should-retry; the SDK obeys it, and so do we.
        should_retry = exc.response.headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            transient = should_retry == "true"
        else:
            transient = status in RETRY_4XX or status >= 500
        detail = exc.api_message or exc.message
        return ComposerError(
            f"Claude API {status} {exc.type or 'error'}: {detail} (request {exc.request_id})",
            transient=transient,
            status=status,
        )
    return ComposerError(f"Claude call failed: {exc}", transient=False)


def reply_from(message: Message, usage: Usage) -> Reply:
    """The reply in a response, read from its text blocks (thinking blocks come first).

    A response that stopped early raises a permanent ComposerError carrying the usage:
    asking again won't help, and Anthropic bills the tokens anyway.
    """
    request = f"request {usage.request_id}"
    if message.stop_reason == "max_tokens":
        raise ComposerError(
            f"Claude's reply was cut short: it reached the {usage.output_tokens}-token limit "
            f"(max_tokens; {usage.thinking_tokens} of them thinking) before its JSON was "
            f"complete ({request})",
            transient=False,
            usage=usage,
        )
    if message.stop_reason == "refusal":
        raise ComposerError(f"Claude declined to answer ({request})", transient=False, usage=usage)
    if message.stop_reason not in (None, "end_turn", "stop_sequence"):
        # model_context_window_exceeded; tool_use and pause_turn need tools we never send.
        raise ComposerError(
            f"Claude stopped with {message.stop_reason} ({request})", transient=False, usage=usage
        )
    text = "".join(block.text for block in message.content if block.type == "text")
    return parse_reply(text, usage)


class ClaudeComposer:
    """The Composer backed by the Anthropic Messages API.

    The SDK's own retries are off (SDK 2.x sleeps for whatever retry-after says); this class
    retries transient failures itself, ignoring retry-after, so one compose() call never
    runs longer than ``budget_seconds`` (at most CALL_BUDGET_SECONDS) plus local overhead.
    """

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        attempts: int = DEFAULT_ATTEMPTS,
        thinking: ThinkingMode = "adaptive",
        effort: Effort = "low",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        http_client: httpx2.Client | None = None,
    ) -> None:
        if not api_key:
            # With no key the SDK would look for one in the environment and on disk.
            raise ComposerError("ANTHROPIC_API_KEY is not set", transient=False)
        if timeout <= 0 or attempts < 1:
            raise ValueError("timeout must be positive and attempts at least 1")
        self.model = model
        self.thinking = thinking
        self.effort = effort
        self.timeout = timeout
        self.attempts = attempts
        self.waits = retry_waits(attempts)
        if self.budget_seconds > CALL_BUDGET_SECONDS:
            raise ValueError(
                f"timeout {timeout:g}s x {attempts} attempts + waits {self.waits} = "
                f"{self.budget_seconds:g}s exceeds the {CALL_BUDGET_SECONDS:g}s call budget"
            )
        self._sleep = sleep
        self._clock = clock
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        http_client: httpx2.Client | None = None,
    ) -> ClaudeComposer:
        return cls(
            api_key=settings.anthropic_api_key or "",
            model=settings.anthropic_model,
            base_url=settings.anthropic_base_url,
            thinking=settings.claude_thinking,
            effort=settings.claude_effort,
            sleep=sleep,
            clock=clock,
            http_client=http_client,
        )

    @property
    def budget_seconds(self) -> float:
        """The longest compose() can take: every attempt timing out, plus the waits."""
        return self.timeout * self.attempts + sum(self.waits)

    def compose(self, prompt: Prompt) -> Reply:
        system = system_blocks(prompt)
        messages = message_params(prompt)
        output_config: OutputConfigParam = {
            "effort": self.effort,
            "format": {"type": "json_schema", "schema": REPLY_SCHEMA},
        }
        for attempt in range(1, self.attempts + 1):
            started = self._clock()
            try:
                message = self._client.messages.create(
                    model=self.model,
                    max_tokens=MAX_TOKENS,
                    system=system or anthropic.omit,
                    messages=messages,
                    output_config=output_config,
                    thinking=thinking_param(self.thinking),
                )
            except anthropic.AnthropicError as exc:
                error = translate(exc)
                if not error.transient:
                    raise error from exc
                if attempt == self.attempts:
                    raise ComposerError(
                        f"{error} (gave up after {self.attempts} attempts)",
                        transient=True,
                        status=error.status,
                    ) from exc
                self._sleep(self.waits[attempt - 1])
                continue
            latency_ms = round((self._clock() - started) * 1000)
            usage = usage_from(message, requested_ttl=prompt.cache_ttl, latency_ms=latency_ms)
            return reply_from(message, usage)
        raise AssertionError("unreachable: the loop returns or raises")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ClaudeComposer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
