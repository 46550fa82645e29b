"""ClaudeComposer: the one place that talks to the Anthropic SDK.

It owns the call: structured output, thinking and effort, and our own retry loop. The
request's cached prefix and messages are built in ``workers.claude_request``; usage
accounting and the translation of every SDK failure into ComposerError are in
``workers.claude_response``.

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
from anthropic.types import OutputConfigParam

from workers.claude_request import message_params, system_blocks, thinking_param
from workers.claude_response import reply_from, translate, usage_from
from workers.llm import REPLY_SCHEMA, ComposerError, Prompt, Reply

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


def retry_waits(attempts: int) -> list[float]:
    """The waits between attempts: capped exponential without jitter, so the budget is exact."""
    return [min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * WAIT_FACTOR**i) for i in range(attempts - 1)]


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
