"""ClaudeComposer driving the real SDK: over httpx2.MockTransport to see exactly what is sent,
and against the Claude stand-in to see prompt caching work across turns."""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from core.settings import Settings
from standins.claude import ClaudeStandin, serve
from workers.claude import (
    CALL_BUDGET_SECONDS,
    MAX_TOKENS,
    REPLY_TOKENS,
    THINKING_TOKENS,
    ClaudeComposer,
)
from workers.claude_request import HINT_PREFIX, OPENING_TEXT, message_params
from workers.guardrails import DEFAULT_LIMITS
from workers.llm import REPLY_SCHEMA, ComposerError, Handoff, Prompt, Turn, Usage

MODEL = "claude-sonnet-5-5"
KEY = "sk-ant-configured"
REPLY_JSON = {
    "bubbles": ["Hi!", "It's 10 EUR."],
    "handoff": {"reason": "ready_to_pay", "note": "Asked for an invoice."},
    "answered_questions": ["How much?"],
    "do_not_contact": False,
}

# What adaptive thinking puts before the text: display "omitted" leaves no text.
THINKING = {"type": "thinking", "thinking": "", "signature": "c2ln"}
REDACTED = {"type": "redacted_thinking", "data": "b3BhcXVl"}


def ok(
    text: str = json.dumps(REPLY_JSON),
    *,
    usage: dict[str, Any] | None = None,
    stop_reason: str = "end_turn",
    before: tuple[dict[str, Any], ...] = (),
) -> httpx2.Response:
    """A Messages API answer: ``before`` are the blocks ahead of the text (thinking)."""
    return httpx2.Response(
        200,
        headers={"request-id": "req_abc"},
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [*before, {"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage or {"input_tokens": 3, "output_tokens": 4},
        },
    )


def failure(status: int, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(
        status,
        headers={"request-id": f"req_{status}", **(headers or {})},
        json={"type": "error", "error": {"type": "some_error", "message": f"status {status}"}},
    )


class FakeAPI:
    """The MockTransport handler: replays scripted responses and keeps every request."""

    def __init__(self, *outcomes: httpx2.Response | Exception) -> None:
        self.outcomes = deque(outcomes)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        outcome = self.outcomes.popleft()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


class Harness:
    def __init__(self) -> None:
        self.api = FakeAPI()
        self.sleeps: list[float] = []
        ticks = itertools.count(100.0, 0.25)
        self.clock = lambda: next(ticks)
        self.composers: list[ClaudeComposer] = []

    def composer(self, *outcomes: httpx2.Response | Exception, **options: Any) -> ClaudeComposer:
        self.api.outcomes.extend(outcomes)
        options.setdefault("api_key", KEY)
        options.setdefault("model", MODEL)
        composer = ClaudeComposer(
            sleep=self.sleeps.append,
            clock=self.clock,
            http_client=httpx2.Client(transport=httpx2.MockTransport(self.api)),
            **options,
        )
        self.composers.append(composer)
        return composer


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    for composer in h.composers:
        composer.close()


def prompt(*history: Turn, hint: str | None = None, ttl: Any = "1h") -> Prompt:
    turns = history or (Turn("user", "How much?"),)
    return Prompt("PLAYBOOK", "KNOWLEDGE", "sha256:abc", turns, hint, ttl)


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


BREAKPOINT = {"cache_control": {"type": "ephemeral", "ttl": "1h"}}


# --- What is sent ------------------------------------------------------------------------


def test_sends_the_cached_prefix_history_and_schema(harness: Harness) -> None:
    composer = harness.composer(ok())
    history = (
        Turn("user", "Hi"),
        Turn("user", "How much?"),
        Turn("assistant", "10 EUR."),
        Turn("user", "Any discount?"),
    )

    composer.compose(prompt(*history, hint="offer 10% off"))

    # Exactly this: nothing current models reject beside thinking (sampling parameters,
    # tools with a forced tool_choice, a last assistant turn as prefill).
    assert harness.api.body() == {
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        "thinking": {"type": "adaptive"},
        "system": [text("PLAYBOOK"), text("KNOWLEDGE", **BREAKPOINT)],
        "messages": [
            {"role": "user", "content": [text("Hi"), text("How much?")]},
            {"role": "assistant", "content": [text("10 EUR.")]},
            {
                "role": "user",
                "content": [
                    text("Any discount?", **BREAKPOINT),
                    text(HINT_PREFIX + "offer 10% off"),
                ],
            },
        ],
        "output_config": {
            "effort": "low",
            "format": {"type": "json_schema", "schema": REPLY_SCHEMA},
        },
    }


def test_thinking_and_effort_are_chosen_for_a_chat_reply(harness: Harness) -> None:
    composer = harness.composer(ok())

    composer.compose(prompt())

    body = harness.api.body()
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"]["effort"] == "low"


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [("adaptive", "medium"), ("between_tools", "high"), ("disabled", "low")],
)
def test_thinking_and_effort_come_from_settings(
    harness: Harness, thinking: str, effort: str
) -> None:
    settings = Settings.from_env(
        {"ANTHROPIC_API_KEY": KEY, "CLAUDE_THINKING": thinking, "CLAUDE_EFFORT": effort}
    )
    client = httpx2.Client(transport=httpx2.MockTransport(harness.api))
    harness.api.outcomes.append(ok())

    with ClaudeComposer.from_settings(settings, http_client=client) as composer:
        composer.compose(prompt())

    body = harness.api.body()
    assert body["thinking"] == {"type": thinking}
    assert body["output_config"]["effort"] == effort


def test_the_largest_reply_the_guardrails_allow_fits_its_share_of_max_tokens() -> None:
    # The JSON of a reply at the length guardrail's limits, with every other field filled
    # generously, in a script of 2 characters a token (Latin text is nearer 4).
    limits = DEFAULT_LIMITS
    bubble = "ж" * (limits.max_total_chars // limits.max_bubbles)
    largest = {
        "bubbles": [bubble] * limits.max_bubbles,
        "handoff": {"reason": "missing_knowledge", "note": "ж" * 200},
        "answered_questions": ["ж" * 100] * 4,
        "do_not_contact": False,
    }

    tokens = len(json.dumps(largest, ensure_ascii=False)) / 2

    assert tokens <= REPLY_TOKENS
    assert MAX_TOKENS == REPLY_TOKENS + THINKING_TOKENS


def test_credentials_and_url_come_from_arguments_never_the_environment(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "tok-from-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://env.invalid")
    default = harness.composer(ok())
    custom = harness.composer(ok(), base_url="http://127.0.0.1:9/")

    default.compose(prompt())
    custom.compose(prompt())

    first, second = harness.api.requests
    assert str(first.url) == "https://api.anthropic.com/v1/messages"
    assert str(second.url) == "http://127.0.0.1:9/v1/messages"
    for request in (first, second):
        # SDK 2.11 sends the API key as a Bearer token, not x-api-key.
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert "x-api-key" not in request.headers
        assert not any("from-env" in value for value in request.headers.values())
        assert request.headers["x-stainless-retry-count"] == "0"
        assert request.extensions["timeout"]["read"] == 35.0


def test_from_settings_passes_key_model_and_url_explicitly(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://env.invalid")
    settings = Settings(anthropic_api_key="sk-settings", anthropic_model="claude-test-model")
    client = httpx2.Client(transport=httpx2.MockTransport(harness.api))
    harness.api.outcomes.append(ok())

    with ClaudeComposer.from_settings(settings, http_client=client) as composer:
        composer.compose(prompt())

    request = harness.api.requests[0]
    assert request.url.host == "api.anthropic.com"
    assert request.headers["authorization"] == "Bearer sk-settings"
    assert harness.api.body()["model"] == "claude-test-model"


def test_from_settings_without_a_key_is_a_permanent_error() -> None:
    with pytest.raises(ComposerError, match="ANTHROPIC_API_KEY") as caught:
        ClaudeComposer.from_settings(Settings())
    assert caught.value.transient is False


@pytest.mark.parametrize(
    ("history", "hint", "expected"),
    [
        pytest.param(
            (Turn("assistant", "Welcome!"), Turn("user", "Hi")),
            None,
            [
                {"role": "user", "content": [text(OPENING_TEXT)]},
                {"role": "assistant", "content": [text("Welcome!")]},
                {"role": "user", "content": [text("Hi", **BREAKPOINT)]},
            ],
            id="opens-with-our-message",
        ),
        pytest.param(
            (Turn("user", "Hi"), Turn("assistant", "Hello!")),
            "ask for their budget",
            [
                {"role": "user", "content": [text("Hi")]},
                {"role": "assistant", "content": [text("Hello!", **BREAKPOINT)]},
                {"role": "user", "content": [text(HINT_PREFIX + "ask for their budget")]},
            ],
            id="hint-after-our-last-message",
        ),
        pytest.param(
            (Turn("user", "Hi"), Turn("assistant", "  "), Turn("user", "there")),
            "  ",
            [{"role": "user", "content": [text("Hi"), text("there", **BREAKPOINT)]}],
            id="blank-turns-and-hint-skipped",
        ),
    ],
)
def test_message_params(history: tuple[Turn, ...], hint: str | None, expected: Any) -> None:
    assert message_params(prompt(*history, hint=hint)) == expected


@pytest.mark.parametrize(
    "history",
    [
        pytest.param((Turn("user", " "),), id="nothing-to-answer"),
        pytest.param((Turn("user", "Hi"), Turn("assistant", "Hello!")), id="ends-with-ours"),
    ],
)
def test_a_history_without_a_customer_turn_to_answer_is_permanent(
    history: tuple[Turn, ...],
) -> None:
    # Current models reject assistant prefill, so the request would fail with a 400 anyway.
    with pytest.raises(ComposerError) as caught:
        message_params(prompt(*history))
    assert caught.value.transient is False


# --- What comes back ---------------------------------------------------------------------


def test_maps_the_reply_and_usage(harness: Harness) -> None:
    usage = {
        "input_tokens": 12,
        "output_tokens": 34,
        "output_tokens_details": {"thinking_tokens": 20},
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 300,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
    }
    composer = harness.composer(ok(usage=usage, before=(THINKING,)))

    reply = composer.compose(prompt())

    assert reply.bubbles == ["Hi!", "It's 10 EUR."]
    assert reply.handoff == Handoff("ready_to_pay", "Asked for an invoice.")
    assert reply.answered_questions == ["How much?"]
    assert reply.structured is True
    assert reply.usage == Usage(
        input_tokens=12,
        output_tokens=34,  # the billed total, thinking included
        thinking_tokens=20,
        cache_read_input_tokens=1000,
        cache_write_5m_tokens=100,
        cache_write_1h_tokens=200,
        model=MODEL,
        latency_ms=250,
        request_id="req_abc",
    )


@pytest.mark.parametrize(("ttl", "write_5m", "write_1h"), [("5m", 300, 0), ("1h", 0, 300)])
def test_an_unsplit_cache_write_is_put_on_the_requested_ttl(
    harness: Harness, ttl: str, write_5m: int, write_1h: int
) -> None:
    usage = {"input_tokens": 1, "output_tokens": 1, "cache_creation_input_tokens": 300}
    composer = harness.composer(ok(usage=usage))

    reply = composer.compose(prompt(ttl=ttl))

    assert (reply.usage.cache_write_5m_tokens, reply.usage.cache_write_1h_tokens) == (
        write_5m,
        write_1h,
    )
    assert reply.usage.cache_read_input_tokens == 0


@pytest.mark.parametrize(
    "before",
    [
        pytest.param((THINKING,), id="thinking"),
        pytest.param((REDACTED,), id="redacted-thinking"),
        pytest.param((REDACTED, THINKING), id="both"),
    ],
)
def test_the_reply_is_read_from_the_text_after_thinking(
    harness: Harness, before: tuple[dict[str, Any], ...]
) -> None:
    # Adaptive thinking (on by default on 5.5 models) puts its blocks before the text.
    composer = harness.composer(ok(before=before))

    reply = composer.compose(prompt())

    assert reply.bubbles == ["Hi!", "It's 10 EUR."]
    assert reply.structured is True


def test_plain_text_falls_back_to_bubbles(harness: Harness) -> None:
    composer = harness.composer(ok("Hello!\n\nIt is 10 EUR."))

    reply = composer.compose(prompt())

    assert reply.bubbles == ["Hello!", "It is 10 EUR."]
    assert reply.structured is False


@pytest.mark.parametrize(
    ("stop_reason", "says"),
    [
        ("refusal", "declined to answer"),
        ("max_tokens", "cut short"),
        ("model_context_window_exceeded", "model_context_window_exceeded"),
    ],
)
def test_a_reply_that_stopped_early_is_permanent(
    harness: Harness, stop_reason: str, says: str
) -> None:
    composer = harness.composer(ok('{"bubbles": ["cut', stop_reason=stop_reason))

    with pytest.raises(ComposerError, match=says) as caught:
        composer.compose(prompt())

    assert caught.value.transient is False
    assert caught.value.usage is not None and caught.value.usage.output_tokens == 4
    assert len(harness.api.requests) == 1


def test_a_reply_cut_short_says_so_and_keeps_the_usage_it_was_billed_for(
    harness: Harness,
) -> None:
    usage = {
        "input_tokens": 900,
        "output_tokens": MAX_TOKENS,
        "output_tokens_details": {"thinking_tokens": MAX_TOKENS - 24},
    }
    cut = ok('{"bubbles": ["Hi', stop_reason="max_tokens", usage=usage, before=(THINKING,))
    composer = harness.composer(cut)

    with pytest.raises(ComposerError, match="cut short") as caught:
        composer.compose(prompt())

    assert caught.value.transient is False
    assert caught.value.usage is not None
    assert (caught.value.usage.input_tokens, caught.value.usage.output_tokens) == (900, MAX_TOKENS)
    assert caught.value.usage.thinking_tokens == MAX_TOKENS - 24
    assert f"{MAX_TOKENS - 24} of them thinking" in str(caught.value)
    assert len(harness.api.requests) == 1


def test_an_empty_reply_after_thinking_keeps_its_usage(harness: Harness) -> None:
    composer = harness.composer(ok("", usage={"input_tokens": 5, "output_tokens": 40}))

    with pytest.raises(ComposerError, match="empty") as caught:
        composer.compose(prompt())

    assert caught.value.usage is not None and caught.value.usage.output_tokens == 40


# --- Retries and the budget --------------------------------------------------------------


def test_retries_overload_with_capped_waits(harness: Harness) -> None:
    composer = harness.composer(failure(529), failure(529), ok())

    reply = composer.compose(prompt())

    assert reply.bubbles == ["Hi!", "It's 10 EUR."]
    assert harness.sleeps == [2.0, 8.0]
    assert len(harness.api.requests) == 3
    # Latency is the successful attempt's, not the whole call's.
    assert reply.usage.latency_ms == 250


def test_retry_after_is_not_obeyed(harness: Harness) -> None:
    slow_down = {"retry-after": "600", "retry-after-ms": "600000"}
    composer = harness.composer(failure(429, slow_down), ok())

    composer.compose(prompt())

    assert harness.sleeps == [2.0]


@pytest.mark.parametrize(
    "outcome",
    [
        pytest.param(failure(408), id="408"),
        pytest.param(failure(409), id="409"),
        pytest.param(failure(429), id="429"),
        pytest.param(failure(500), id="500"),
        pytest.param(failure(503), id="503"),
        pytest.param(httpx2.ConnectError("refused"), id="connection-error"),
        pytest.param(httpx2.ReadTimeout("slow"), id="timeout"),
    ],
)
def test_transient_failures_are_retried(
    harness: Harness, outcome: httpx2.Response | Exception
) -> None:
    composer = harness.composer(outcome, ok())

    assert composer.compose(prompt()).structured is True
    assert harness.sleeps == [2.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_permanent_failures_are_not_retried(harness: Harness, status: int) -> None:
    composer = harness.composer(failure(status))

    with pytest.raises(ComposerError, match=f"status {status}") as caught:
        composer.compose(prompt())

    assert caught.value.transient is False
    assert caught.value.status == status
    assert f"req_{status}" in str(caught.value)
    assert harness.sleeps == []
    assert len(harness.api.requests) == 1


def test_x_should_retry_false_is_obeyed(harness: Harness) -> None:
    composer = harness.composer(failure(500, {"x-should-retry": "false"}))

    with pytest.raises(ComposerError) as caught:
        composer.compose(prompt())

    assert caught.value.transient is False
    assert harness.sleeps == []


def test_all_attempts_failing_is_transient(harness: Harness) -> None:
    composer = harness.composer(failure(529), httpx2.ConnectError("refused"), failure(529))

    with pytest.raises(ComposerError, match="gave up after 3 attempts") as caught:
        composer.compose(prompt())

    assert caught.value.transient is True
    assert caught.value.status == 529
    assert harness.sleeps == [2.0, 8.0]
    assert len(harness.api.requests) == 3


def test_default_budget_fits_the_call_budget(harness: Harness) -> None:
    composer = harness.composer()

    assert composer.budget_seconds == 35 * 3 + 2 + 8 == 115
    assert composer.budget_seconds <= CALL_BUDGET_SECONDS


@pytest.mark.parametrize(
    ("timeout", "attempts", "allowed"),
    [(40.0, 3, False), (25.0, 4, True), (28.0, 4, False), (120.0, 1, True), (121.0, 1, False)],
)
def test_budget_validation(harness: Harness, timeout: float, attempts: int, allowed: bool) -> None:
    if allowed:
        assert harness.composer(timeout=timeout, attempts=attempts).budget_seconds <= 120
    else:
        with pytest.raises(ValueError, match="call budget"):
            harness.composer(timeout=timeout, attempts=attempts)


# --- Against the Claude stand-in ---------------------------------------------------------


@pytest.fixture(scope="module")
def _standin() -> Iterator[ClaudeStandin]:
    server = serve()
    yield server
    server.stop()


@pytest.fixture
def standin(_standin: ClaudeStandin) -> ClaudeStandin:
    _standin.state.reset()
    return _standin


@pytest.fixture
def live(standin: ClaudeStandin) -> Iterator[tuple[ClaudeComposer, list[float]]]:
    sleeps: list[float] = []
    with ClaudeComposer(
        api_key=KEY, model=MODEL, base_url=standin.url, sleep=sleeps.append
    ) as composer:
        yield composer, sleeps


LONG_KNOWLEDGE = "## Pricing\nThe starter plan is 10 EUR a month, billed yearly.\n" * 100
SHORT_KNOWLEDGE = "The starter plan is 10 EUR a month."


def converse(composer: ClaudeComposer, knowledge: str, turns: int, ttl: Any = "1h") -> list[Usage]:
    history = [Turn("user", "Hi, how much is the starter plan?")]
    usages = []
    for number in range(turns):
        reply = composer.compose(Prompt("Be brief.", knowledge, "v1", tuple(history), None, ttl))
        assert reply.structured is True
        usages.append(reply.usage)
        history += [Turn("assistant", "\n\n".join(reply.bubbles)), Turn("user", f"Q{number}?")]
    return usages


def test_each_turn_reads_the_previous_turns_cache(
    live: tuple[ClaudeComposer, list[float]],
) -> None:
    first, second, third = converse(live[0], LONG_KNOWLEDGE, 3)

    assert first.cache_write_1h_tokens > 0
    assert first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens >= first.cache_write_1h_tokens
    assert third.cache_read_input_tokens > second.cache_read_input_tokens
    assert first.cache_write_5m_tokens == second.cache_write_5m_tokens == 0


def test_a_prompt_below_the_minimum_is_silently_not_cached(
    live: tuple[ClaudeComposer, list[float]],
) -> None:
    for usage in converse(live[0], SHORT_KNOWLEDGE, 2):
        assert usage.cache_read_input_tokens == 0
        assert usage.cache_write_1h_tokens == usage.cache_write_5m_tokens == 0
        assert usage.input_tokens > 0


@pytest.mark.parametrize(
    ("ttl", "seconds", "still_cached"),
    [("1h", 301, True), ("1h", 3601, False), ("5m", 299, True), ("5m", 301, False)],
)
def test_the_cache_expires_after_its_ttl(
    live: tuple[ClaudeComposer, list[float]],
    standin: ClaudeStandin,
    ttl: str,
    seconds: float,
    still_cached: bool,
) -> None:
    composer = live[0]
    converse(composer, LONG_KNOWLEDGE, 1, ttl)
    with httpx2.Client(base_url=standin.url) as http:
        http.post("/_standin/advance", json={"seconds": seconds}).raise_for_status()

    (again,) = converse(composer, LONG_KNOWLEDGE, 1, ttl)

    written = again.cache_write_1h_tokens + again.cache_write_5m_tokens
    assert (again.cache_read_input_tokens > 0) is still_cached
    assert (written == 0) is still_cached


def test_a_long_think_still_leaves_room_for_the_reply(
    live: tuple[ClaudeComposer, list[float]], standin: ClaudeStandin
) -> None:
    with httpx2.Client(base_url=standin.url) as http:
        think = {"tokens": THINKING_TOKENS + 500}  # past its share: the reply is shorter
        http.post("/_standin/think", json=think).raise_for_status()

    reply = live[0].compose(prompt())

    assert reply.structured is True
    assert reply.bubbles[0] == "Thanks for your message!"
    assert reply.usage.thinking_tokens == think["tokens"]
    assert reply.usage.output_tokens > think["tokens"]  # the billed total includes it


def test_a_think_that_uses_up_max_tokens_is_cut_short_once(
    live: tuple[ClaudeComposer, list[float]], standin: ClaudeStandin
) -> None:
    composer, sleeps = live
    with httpx2.Client(base_url=standin.url) as http:
        http.post("/_standin/think", json={"tokens": MAX_TOKENS}).raise_for_status()

    with pytest.raises(ComposerError, match="cut short") as caught:
        composer.compose(prompt())

    assert caught.value.transient is False
    assert standin.state.calls == 1 and sleeps == []
    assert caught.value.usage is not None
    assert caught.value.usage.output_tokens == caught.value.usage.thinking_tokens == MAX_TOKENS


def test_recovers_from_scripted_overload(
    live: tuple[ClaudeComposer, list[float]], standin: ClaudeStandin
) -> None:
    composer, sleeps = live
    with httpx2.Client(base_url=standin.url) as http:
        http.post("/_standin/fail", json={"status": 529, "times": 2}).raise_for_status()

    reply = composer.compose(prompt())

    assert reply.usage.request_id == "req_standin_000003"
    assert sleeps == [2.0, 8.0]


def test_a_slow_standin_times_out_as_transient(standin: ClaudeStandin) -> None:
    sleeps: list[float] = []
    with httpx2.Client(base_url=standin.url) as http:
        http.post("/_standin/fail", json={"delay": 0.5, "times": 2}).raise_for_status()

    with ClaudeComposer(
        api_key=KEY, model=MODEL, base_url=standin.url, timeout=0.1, attempts=2, sleep=sleeps.append
    ) as composer:
        with pytest.raises(ComposerError, match="in time") as caught:
            composer.compose(prompt())

    assert caught.value.transient is True
    assert sleeps == [2.0]
