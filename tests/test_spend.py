"""The daily Claude spend cap and the cost arithmetic (issue 5)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from sqlmodel import Session

from core import pricing
from core.pricing import Prices
from core.settings import Settings, SettingsError
from tests.conftest import load_event
from tests.loop_harness import DEBOUNCE, T0, Loop
from workers import runtime, spend
from workers.llm import ComposerError, Reply, Usage


def test_cost_prices_each_kind_of_token_separately() -> None:
    dollars = pricing.cost(
        Prices(),
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_write_5m_tokens=1_000_000,
        cache_write_1h_tokens=1_000_000,
        cache_read_input_tokens=1_000_000,
    )
    assert dollars == Decimal("3") + Decimal("15") + Decimal("3.75") + Decimal("6") + Decimal(
        "0.30"
    )


def test_prices_and_cap_come_from_settings() -> None:
    settings = Settings.from_env(
        {"CLAUDE_PRICES_PER_MTOK": "input=1,cache_read=0.1", "CLAUDE_DAILY_CAP_USD": "7.50"}
    )
    assert settings.claude_prices == Prices(input=Decimal("1"), cache_read=Decimal("0.1"))
    assert settings.claude_daily_cap_usd == Decimal("7.50")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CLAUDE_PRICES_PER_MTOK", "input"),
        ("CLAUDE_PRICES_PER_MTOK", "tips=1"),
        ("CLAUDE_DAILY_CAP_USD", "-1"),
    ],
)
def test_bad_price_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}: "):
        Settings.from_env({name: value})


def expensive() -> Reply:
    # 1,000 input + 500 output tokens at Sonnet prices: $0.0105
    return Reply(bubbles=["Yes!"], usage=Usage(input_tokens=1000, output_tokens=500))


def second_conversation(loop: Loop, text: str, at: float) -> None:
    payload = copy.deepcopy(load_event("message_created_incoming"))
    payload["id"] = 950_001
    payload["content"] = text
    payload["conversation"]["id"] = 1424
    loop.clock.now = at
    loop.deliver(payload)


def test_past_the_cap_no_claude_call_a_handoff_and_one_operator_notice(loop: Loop) -> None:
    deps = runtime.worker_context()
    deps.daily_cap = Decimal("0.01")
    loop.composer.add(expensive())
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    assert len(loop.composer.prompts) == 1  # $0.0105 spent: the cap is now reached

    loop.customer_says("And the return window?", at=T0 + 100)
    loop.run(at=T0 + 100 + DEBOUNCE + 1)
    second_conversation(loop, "Hello?", at=T0 + 200)
    loop.run(at=T0 + 200 + DEBOUNCE + 1)

    assert len(loop.composer.prompts) == 1  # no new Claude calls
    assert loop.handoff_reasons() == ["spend_cap", "spend_cap"]
    assert [n["kind"] for n in loop.notices].count("spend_cap") == 1
    assert any("daily cap" in note for note in loop.fake.notes())
    assert loop.fake.public() == []


def test_under_the_cap_nothing_changes(loop: Loop) -> None:
    runtime.worker_context().daily_cap = Decimal("1")
    loop.composer.add(expensive())
    loop.composer.add(expensive())
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    loop.customer_says("And the return window?", at=T0 + 100)
    loop.run(at=T0 + 100 + DEBOUNCE + 1)
    assert len(loop.composer.prompts) == 2 and loop.handoff_reasons() == []


def test_a_reply_cut_short_hands_off_and_its_tokens_count_toward_the_spend(loop: Loop) -> None:
    billed = Usage(
        input_tokens=1000, output_tokens=2048, thinking_tokens=2000, model="claude-sonnet-5-5"
    )
    loop.composer.add(
        ComposerError("Claude's reply was cut short at max_tokens", transient=False, usage=billed)
    )
    loop.customer_says("Which tent for a family of four?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)

    [draft] = loop.drafts()
    assert draft.state == "failed"
    assert (draft.input_tokens, draft.output_tokens, draft.thinking_tokens) == (1000, 2048, 2000)
    assert draft.model == "claude-sonnet-5-5"
    assert loop.handoff_reasons() == ["claude_failed"]
    assert "cut short" in loop.fake.notes()[-1]
    with Session(loop.engine) as session:
        spent = spend.spent_today(session, Prices(), now=loop.clock.dt())
    assert spent == (1000 * Prices().input + 2048 * Prices().output) / pricing.MILLION


def test_thinking_is_recorded_and_priced_once_inside_output(loop: Loop) -> None:
    # Anthropic bills thinking as output, and output_tokens already includes it.
    usage = Usage(input_tokens=1000, output_tokens=500, thinking_tokens=300, model="m")
    loop.composer.add(Reply(bubbles=["Yes!"], usage=usage))
    loop.customer_says("Does it fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)

    [draft] = loop.drafts()
    assert (draft.output_tokens, draft.thinking_tokens) == (500, 300)
    with Session(loop.engine) as session:
        spent = spend.spent_today(session, Prices(), now=loop.clock.dt())
    assert spent == (1000 * Prices().input + 500 * Prices().output) / pricing.MILLION
