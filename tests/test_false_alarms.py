"""False alarms: how often the guardrails flag a legitimate reply (issue 10, finding 3).

Every flag blocks an autopilot reply and counts against an arm's promotion, so the rate on
``tests/legit_replies.py`` is held at or below 1%: priced replies on an inbox configured like
the example's "Website Support", plain ones on that inbox and on one with nothing configured.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

from core.config import InboxConfig
from tests.injection_corpus import INBOX, KNOWLEDGE, SYSTEM_PROMPT
from tests.legit_replies import PLAIN, PLAIN_DE, PRICED, PRICED_DE
from workers.guardrails import check, describe_failures

MAX_RATE = 0.01
MONEY_OR_LINK = re.compile(r"[€$£]|\b(?:EUR|Euro|euros?)\b|//|www\.|@|\.example\b")
# As in wingman.example.toml's inbox 12.
CONFIGURED = replace(INBOX, link_domains=("acme-outdoor.example", "help.acme-outdoor.example"))
NOTHING = replace(INBOX, prices=None, link_domains=())
RUNS: list[tuple[tuple[str, ...], InboxConfig]] = [
    *((reply, CONFIGURED) for reply in PRICED),
    *((reply, CONFIGURED) for reply in PLAIN),
    *((reply, NOTHING) for reply in PLAIN),
]


def test_the_corpus_is_big_enough_in_both_locales() -> None:
    replies = PRICED + PLAIN
    assert len(replies) >= 200
    assert len(set(replies)) == len(replies)
    assert 0.3 < len(PRICED_DE + PLAIN_DE) / len(replies) < 0.7  # en and de-DE, as shipped


def test_plain_replies_hold_no_price_and_no_link() -> None:
    # One that did would be rightly flagged on the inbox with nothing configured.
    for reply in PLAIN:
        assert not MONEY_OR_LINK.search(" ".join(reply)), reply


def test_false_alarms_stay_at_or_below_one_percent(capsys: pytest.CaptureFixture[str]) -> None:
    flagged = []
    started = time.perf_counter()
    for reply, inbox in RUNS:
        guardrails = check(reply, inbox=inbox, knowledge=KNOWLEDGE, system_prompt=SYSTEM_PROMPT)
        if not guardrails.passed:
            flagged.append(f"{reply}: {describe_failures(guardrails)}")
    per_reply = (time.perf_counter() - started) / len(RUNS)
    rate = len(flagged) / len(RUNS)
    with capsys.disabled():
        print(
            f"\nfalse alarms: {len(flagged)} of {len(RUNS)} checks ({rate:.2%}) on "
            f"{len(PRICED) + len(PLAIN)} legitimate replies; {per_reply * 1000:.2f} ms a reply"
        )
    assert rate <= MAX_RATE, "\n".join(flagged)
