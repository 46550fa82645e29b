"""The Claude stand-in: its caching arithmetic, validation, answers, scripting and labels."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from standins.caching import (
    LOOKBACK_BLOCKS,
    MIN_CACHEABLE_TOKENS,
    Block,
    CacheUsage,
    PromptCache,
    estimate_tokens,
    prefix_keys,
    prompt_blocks,
)
from standins.claude import ClaudeStandin, serve
from standins.claude_answers import answer, validate
from standins.claude_thinking import (
    SIGNATURE,
    THINKING_BY_EFFORT,
    generate,
    planned_thinking,
    thinking_problem,
)
from workers.llm import Usage, parse_reply

# --- Caching arithmetic (pure) -----------------------------------------------------------


def block(name: str, tokens: int, ttl: str | None = None) -> Block:
    return Block(name, tokens, ttl)


def test_estimate_tokens_rounds_up() -> None:
    assert [estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]


def test_first_request_writes_every_cacheable_breakpoint() -> None:
    cache = PromptCache()
    blocks = [block("playbook", 200), block("knowledge", 1000, "1h"), block("u1", 50, "5m")]

    usage = cache.apply("m", blocks, now=0)

    assert usage == CacheUsage(input_tokens=0, cache_write_1h_tokens=1200, cache_write_5m_tokens=50)
    assert usage.cache_creation_input_tokens == 1250


def test_a_prefix_below_the_minimum_is_silently_not_cached() -> None:
    cache = PromptCache()
    short = [block("system", MIN_CACHEABLE_TOKENS - 1, "1h"), block("u1", 10)]

    assert cache.apply("m", short, now=0) == CacheUsage(input_tokens=MIN_CACHEABLE_TOKENS + 9)
    assert len(cache) == 0


def test_a_later_breakpoint_can_be_cacheable_when_an_earlier_one_is_not() -> None:
    cache = PromptCache()
    blocks = [block("system", 600, "1h"), block("u1", 600, "1h"), block("hint", 7)]

    usage = cache.apply("m", blocks, now=0)

    assert usage == CacheUsage(input_tokens=7, cache_write_1h_tokens=1200)


def test_the_next_turn_reads_the_previous_breakpoint_by_lookback() -> None:
    cache = PromptCache()
    turn1 = [block("system", 1100, "1h"), block("u1", 30, "1h")]
    turn2 = [block("system", 1100, "1h"), block("u1", 30), block("a1", 20), block("u2", 5, "1h")]
    cache.apply("m", turn1, now=0)

    usage = cache.apply("m", turn2, now=10)

    assert usage == CacheUsage(
        input_tokens=0, cache_read_input_tokens=1130, cache_write_1h_tokens=25
    )


@pytest.mark.parametrize(
    ("filler", "read"), [(LOOKBACK_BLOCKS - 2, 1130), (LOOKBACK_BLOCKS - 1, 1100)]
)
def test_lookback_reaches_back_a_limited_number_of_blocks(filler: int, read: int) -> None:
    cache = PromptCache()
    cache.apply("m", [block("system", 1100, "1h"), block("u1", 30, "1h")], now=0)
    between = [block(f"b{i}", 1) for i in range(filler)]

    usage = cache.apply(
        "m", [block("system", 1100, "1h"), block("u1", 30), *between, block("new", 1, "1h")], 1
    )

    # The window is the breakpoint and the blocks before it, LOOKBACK_BLOCKS in all; past
    # it only the system breakpoint's own prefix is found.
    assert usage.cache_read_input_tokens == read


def test_the_model_is_part_of_the_key() -> None:
    cache = PromptCache()
    blocks = [block("system", 1100, "1h")]
    cache.apply("model-a", blocks, now=0)

    assert cache.apply("model-b", blocks, now=1).cache_read_input_tokens == 0
    assert prefix_keys("a", blocks) != prefix_keys("b", blocks)


def test_entries_expire_and_a_read_refreshes_them() -> None:
    cache = PromptCache()
    blocks = [block("system", 1100, "5m"), block("u1", 5)]
    cache.apply("m", blocks, now=0)

    assert cache.apply("m", blocks, now=250).cache_read_input_tokens == 1100
    # Refreshed at 250, so still live at 500 although first written at 0.
    assert cache.apply("m", blocks, now=500).cache_read_input_tokens == 1100
    expired = cache.apply("m", blocks, now=801)
    assert expired.cache_read_input_tokens == 0
    assert expired.cache_write_5m_tokens == 1100


def test_prompt_blocks_order_and_keys_ignore_cache_control() -> None:
    marked = {
        "system": [{"type": "text", "text": "x" * 8, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "hello"}],
    }
    plain = {
        "system": "x" * 8,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
    }

    blocks = prompt_blocks(marked)

    assert [(b.tokens, b.ttl) for b in blocks] == [(2, "5m"), (2, None)]
    assert prefix_keys("m", blocks) == prefix_keys("m", prompt_blocks(plain))


# --- Validation --------------------------------------------------------------------------


def request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-5-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def cached(text: str, ttl: str = "5m") -> dict[str, Any]:
    return {"type": "text", "text": text, "cache_control": {"type": "ephemeral", "ttl": ttl}}


USER = {"role": "user", "content": "Hi"}
ASSISTANT = {"role": "assistant", "content": "Hello"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (request(model=None), "model"),
        (request(max_tokens=None), "max_tokens"),
        (request(max_tokens="9"), "max_tokens"),
        (request(messages=[]), "messages"),
        (request(messages=[ASSISTANT, USER]), "first message"),
        (request(messages=[USER, USER]), "alternate"),
        (request(messages=[USER, ASSISTANT]), "prefill"),
        (request(messages=[{"role": "user", "content": " "}]), "non-empty"),
        (request(system=[cached(str(i)) for i in range(5)]), "maximum of 4"),
        (request(system=[cached("a"), cached("b", "1h")]), "1h"),
        (request(system=[cached("a", "1d")]), "ttl"),
        (request(output_config={"format": {"type": "json_object"}}), "json_schema"),
    ],
)
def test_validation_rejects_what_the_api_would(body: dict[str, Any], message: str) -> None:
    problem = validate(body)

    assert problem is not None
    assert message in problem


def test_validation_accepts_a_good_request() -> None:
    body = request(
        system=[cached("a", "1h"), cached("b", "5m")],
        messages=[USER, ASSISTANT, {"role": "user", "content": [cached("c")]}],
        output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
    )

    assert validate(body) is None


# --- Thinking (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"thinking": {"type": "disabled"}}, "use 'between_tools'"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, "use 'adaptive'"),
        ({"thinking": {"type": "sometimes"}}, "thinking.type"),
        ({"thinking": "adaptive"}, "thinking.type"),
        ({"thinking": {"type": "between_tools", "display": "omitted"}}, "display"),
        ({"output_config": {"effort": "extreme"}}, "effort"),
        (
            {"thinking": {"type": "between_tools"}, "output_config": {"effort": "xhigh"}},
            "between_tools allows low to high",
        ),
        ({"temperature": 0.2}, "temperature"),
        ({"top_p": 0.9}, "top_p"),
        ({"top_k": 5}, "top_k"),
        ({"tool_choice": {"type": "any"}}, "forced tool use"),
    ],
)
def test_thinking_rules_reject_what_a_5_5_model_would(
    overrides: dict[str, Any], message: str
) -> None:
    problem = thinking_problem(request(**overrides))

    assert problem is not None
    assert message in problem
    assert validate(request(**overrides)) == problem


@pytest.mark.parametrize(
    ("overrides", "tokens"),
    [
        ({}, THINKING_BY_EFFORT["high"]),
        ({"thinking": {"type": "adaptive"}}, THINKING_BY_EFFORT["high"]),
        (
            {
                "thinking": {"type": "adaptive", "display": "summarized"},
                "output_config": {"effort": "low"},
            },
            THINKING_BY_EFFORT["low"],
        ),
        ({"thinking": {"type": "between_tools"}, "output_config": {"effort": "high"}}, 0),
        ({"temperature": 1, "tool_choice": {"type": "auto"}}, THINKING_BY_EFFORT["high"]),
    ],
)
def test_thinking_rules_accept_and_plan(overrides: dict[str, Any], tokens: int) -> None:
    body = request(**overrides)

    assert thinking_problem(body) is None
    assert planned_thinking(body) == tokens


def test_generate_puts_thinking_first_within_max_tokens() -> None:
    text = "x" * 40  # 10 tokens

    fits = generate(request(max_tokens=30), text, thinking=20)
    cut = generate(request(max_tokens=25), text, thinking=20)
    nothing_left = generate(request(max_tokens=20), text, thinking=50)
    no_thinking = generate(request(max_tokens=10), text, thinking=0)

    assert [b["type"] for b in fits.content] == ["thinking", "text"]
    assert (fits.stop_reason, fits.output_tokens, fits.thinking_tokens) == ("end_turn", 30, 20)
    assert cut.content[1] == {"type": "text", "text": "x" * 20}
    assert (cut.stop_reason, cut.output_tokens, cut.thinking_tokens) == ("max_tokens", 25, 20)
    assert [b["type"] for b in nothing_left.content] == ["thinking"]
    assert (nothing_left.output_tokens, nothing_left.thinking_tokens) == (20, 20)
    assert no_thinking.content == [{"type": "text", "text": text}]
    assert no_thinking.stop_reason == "end_turn"


def test_a_summarized_thinking_block_has_text() -> None:
    body = request(thinking={"type": "adaptive", "display": "summarized"})

    (block, _) = generate(body, "hi", thinking=5).content

    assert block["thinking"] and block["signature"] == SIGNATURE


# --- Answers -----------------------------------------------------------------------------

JSON_FORMAT = {"format": {"type": "json_schema", "schema": {"type": "object"}}}


def said(text: str, **overrides: Any) -> dict[str, Any]:
    return request(messages=[{"role": "user", "content": text}], **overrides)


def test_a_json_answer_has_the_reply_shape() -> None:
    data = json.loads(answer(said("How much is it? Is shipping free?", output_config=JSON_FORMAT)))

    assert set(data) == {"bubbles", "handoff", "answered_questions", "do_not_contact"}
    assert data["bubbles"][0] == "Thanks for your message!"
    assert "How much is it?" in data["bubbles"][1]
    assert data["bubbles"][2].endswith("?")
    assert data["answered_questions"] == ["How much is it?", "Is shipping free?"]
    assert data["handoff"] is None
    assert data["do_not_contact"] is False


@pytest.mark.parametrize(
    ("text", "handoff", "do_not_contact"),
    [
        ("Can I talk to a human please", True, False),
        ("Put me through to an agent", True, False),
        ("Please STOP messaging me", False, True),
        ("unsubscribe", False, True),
        ("What colours are there?", False, False),
    ],
)
def test_the_answer_notices_handoffs_and_opt_outs(
    text: str, handoff: bool, do_not_contact: bool
) -> None:
    reply = parse_reply(answer(said(text, output_config=JSON_FORMAT)), usage=Usage())

    assert reply.structured is True
    assert (reply.handoff is not None) is handoff
    assert reply.do_not_contact is do_not_contact


def test_without_an_output_format_the_answer_is_plain_text() -> None:
    text = answer(said("Hello"))

    assert text.startswith("Thanks for your message!\n\n")
    assert parse_reply(text, usage=Usage()).structured is False


# --- Over HTTP ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _server() -> Iterator[ClaudeStandin]:
    server = serve()
    yield server
    server.stop()


@pytest.fixture
def http(_server: ClaudeStandin) -> Iterator[httpx2.Client]:
    _server.state.reset()
    with httpx2.Client(base_url=_server.url, headers={"x-api-key": "sk-test"}) as client:
        yield client


def test_answers_a_messages_call_labelled_as_a_standin(http: httpx2.Client) -> None:
    response = http.post("/v1/messages", json=said("Hi there", output_config=JSON_FORMAT))

    assert response.status_code == 200
    assert response.headers["x-wingman-standin"] == "claude"
    assert response.headers["request-id"] == "req_standin_000001"
    message = response.json()
    assert message["id"] == "msg_standin_000001"
    assert (message["type"], message["role"], message["stop_reason"]) == (
        "message",
        "assistant",
        "end_turn",
    )
    assert message["model"] == "claude-sonnet-5-5"
    thinking, reply = message["content"]
    # No thinking field: adaptive thinking at the default effort, as on the 5.5 models.
    assert thinking == {"type": "thinking", "thinking": "", "signature": SIGNATURE}
    assert json.loads(reply["text"])["bubbles"][0] == "Thanks for your message!"
    usage = message["usage"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens_details"] == {"thinking_tokens": THINKING_BY_EFFORT["high"]}
    assert usage["output_tokens"] == THINKING_BY_EFFORT["high"] + estimate_tokens(reply["text"])
    assert usage["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": 0,
    }


def test_the_banner_names_it_a_standin(http: httpx2.Client) -> None:
    response = http.get("/")

    assert "NOT the real Claude API" in response.json()["banner"]
    assert response.headers["x-wingman-standin"] == "claude"


def test_errors_are_anthropic_shaped(http: httpx2.Client) -> None:
    response = http.post("/v1/messages", json=request(messages=[ASSISTANT]))

    assert response.status_code == 400
    assert response.headers["x-wingman-standin"] == "claude"
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "first message" in body["error"]["message"]


def test_a_call_without_a_key_is_unauthorised(http: httpx2.Client) -> None:
    response = http.post("/v1/messages", json=said("Hi"), headers={"x-api-key": ""})

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_scripted_failures_come_first_then_normal_answers(http: httpx2.Client) -> None:
    scripted = http.post("/_standin/fail", json={"status": 529, "times": 2, "retry_after": 600})
    assert scripted.json() == {"scripted": 2}

    statuses = [http.post("/v1/messages", json=said("Hi")) for _ in range(3)]

    assert [r.status_code for r in statuses] == [529, 529, 200]
    assert statuses[0].json()["error"]["type"] == "overloaded_error"
    assert statuses[0].headers["retry-after"] == "600"


def test_a_scripted_long_think_cuts_the_answer_short(http: httpx2.Client) -> None:
    scripted = http.post("/_standin/think", json={"tokens": 1000, "times": 2})
    assert scripted.json() == {"scripted": 2}
    body = said("How much is it?", max_tokens=1024, output_config=JSON_FORMAT)

    cut, also_cut, normal = (http.post("/v1/messages", json=body).json() for _ in range(3))

    assert cut["stop_reason"] == also_cut["stop_reason"] == "max_tokens"
    thinking, text = cut["content"]
    assert thinking["type"] == "thinking"
    assert len(text["text"]) == 24 * 4  # the 24 tokens thinking left, at 4 characters each
    assert cut["usage"]["output_tokens"] == 1024
    assert cut["usage"]["output_tokens_details"] == {"thinking_tokens": 1000}
    assert normal["stop_reason"] == "end_turn"


def test_a_scripted_redacted_think(http: httpx2.Client) -> None:
    http.post("/_standin/think", json={"tokens": 50, "redacted": True})

    message = http.post("/v1/messages", json=said("Hi")).json()

    assert [block["type"] for block in message["content"]] == ["redacted_thinking", "text"]
    assert message["usage"]["output_tokens_details"] == {"thinking_tokens": 50}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_standin/fail", {"status": 200}),
        ("/_standin/fail", {"status": 529, "times": 0}),
        ("/_standin/fail", {"delay": -1}),
        ("/_standin/advance", {"seconds": "soon"}),
        ("/_standin/think", {}),
        ("/_standin/think", {"tokens": 0}),
        ("/_standin/think", {"tokens": 10, "times": 0}),
        ("/_standin/think", {"tokens": 10, "redacted": "yes"}),
    ],
)
def test_controls_reject_nonsense(http: httpx2.Client, path: str, body: dict[str, Any]) -> None:
    assert http.post(path, json=body).status_code == 400


def test_advance_expires_and_reset_forgets(http: httpx2.Client) -> None:
    body = request(system=[cached("k" * 4 * MIN_CACHEABLE_TOKENS)])
    first = http.post("/v1/messages", json=body).json()["usage"]
    again = http.post("/v1/messages", json=body).json()["usage"]
    http.post("/_standin/advance", json={"seconds": 301})
    expired = http.post("/v1/messages", json=body).json()["usage"]
    http.post("/_standin/think", json={"tokens": 10_000})
    http.post("/_standin/reset", json={})
    after_reset = http.post("/v1/messages", json=body)

    assert first["cache_creation"]["ephemeral_5m_input_tokens"] == MIN_CACHEABLE_TOKENS
    assert again["cache_read_input_tokens"] == MIN_CACHEABLE_TOKENS
    assert expired["cache_read_input_tokens"] == 0
    assert expired["cache_creation_input_tokens"] == MIN_CACHEABLE_TOKENS
    assert after_reset.headers["request-id"] == "req_standin_000001"
    assert after_reset.json()["stop_reason"] == "end_turn"
    assert after_reset.json()["usage"]["cache_read_input_tokens"] == 0


def test_unknown_paths_are_404(http: httpx2.Client) -> None:
    assert http.post("/v1/complete", json={}).status_code == 404
    assert http.get("/v1/models").status_code == 404


@pytest.mark.slow
def test_runs_as_a_module_and_prints_its_url() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "standins.claude", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        ready = process.stdout.readline()
        url = ready.split()[2]
        with httpx2.Client(base_url=url) as client:
            label = client.get("/").headers["x-wingman-standin"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    assert "NOT the real Claude API" in banner
    assert url.startswith("http://127.0.0.1:")
    assert label == "claude"
