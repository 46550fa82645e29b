from datetime import UTC, datetime, timedelta

import pytest

from workers.windows import window

LAST = datetime(2026, 6, 18, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "channel", ["Channel::Instagram", "Channel::FacebookPage", "Channel::Whatsapp"]
)
@pytest.mark.parametrize(
    ("after", "is_open"),
    [
        (timedelta(hours=23, minutes=59), True),
        (timedelta(hours=24) - timedelta(microseconds=1), True),
        (timedelta(hours=24), False),
        (timedelta(hours=24, minutes=1), False),
    ],
)
def test_meta_channels_close_24_hours_after_the_customers_last_message(
    channel: str, after: timedelta, is_open: bool
) -> None:
    result = window(channel, LAST, LAST + after)
    assert result.open is is_open
    assert result.closes_at == LAST + timedelta(hours=24)


@pytest.mark.parametrize("channel", ["Channel::WebWidget", "Channel::Email", "Channel::Api"])
def test_web_email_and_api_have_no_window(channel: str) -> None:
    result = window(channel, LAST, LAST + timedelta(days=30))
    assert result.open and result.closes_at is None and result.known


def test_no_channel_at_all_fails_closed() -> None:
    result = window(None, LAST, LAST + timedelta(hours=25))
    assert not result.open and not result.known


def test_whatsapp_outside_the_window_says_a_template_is_needed() -> None:
    result = window("Channel::Whatsapp", LAST, LAST + timedelta(hours=24, minutes=1))
    assert "24 h" in result.reason and "approved template" in result.reason


def test_instagram_outside_the_window_names_the_rule_without_templates() -> None:
    result = window("Channel::Instagram", LAST, LAST + timedelta(hours=25))
    assert "Instagram" in result.reason and "template" not in result.reason


def test_no_customer_message_means_no_window() -> None:
    assert not window("Channel::Whatsapp", None, LAST).open
