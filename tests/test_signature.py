import pytest

from chatwoot.signature import SignatureError, sign, verify

SECRET = "bot-webhook-secret"
BODY = b'{"event":"message_created","id":1}'
NOW = 1_781_774_038.0


def test_matches_chatwoots_recipe() -> None:
    # CONTRACT.md §2: OpenSSL::HMAC.hexdigest('SHA256', secret, "#{ts}.#{body}")
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1781774038." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1781774038", BODY) == "sha256=" + expected


def test_valid_signature_passes() -> None:
    ts = str(int(NOW))
    verify(SECRET, timestamp=ts, signature=sign(SECRET, ts, BODY), body=BODY, now=NOW, max_skew=300)


@pytest.mark.parametrize("offset", [-300, 300])
def test_skew_at_the_edge_passes(offset: int) -> None:
    ts = str(int(NOW) + offset)
    verify(SECRET, timestamp=ts, signature=sign(SECRET, ts, BODY), body=BODY, now=NOW, max_skew=300)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "check"),
    [
        ("1781774038", None, BODY, "signature"),
        (None, sign(SECRET, "1781774038", BODY), BODY, "timestamp"),
        ("yesterday", "sha256=00", BODY, "timestamp"),
        ("1781774038", sign("other-secret", "1781774038", BODY), BODY, "signature"),
        ("1781774038", sign(SECRET, "1781774038", BODY), BODY + b" ", "signature"),
        ("1781774039", sign(SECRET, "1781774038", BODY), BODY, "signature"),
        ("1781773737", sign(SECRET, "1781773737", BODY), BODY, "timestamp"),
        ("1781774339", sign(SECRET, "1781774339", BODY), BODY, "timestamp"),
    ],
)
def test_each_failed_check_is_named(
    timestamp: str | None, signature: str | None, body: bytes, check: str
) -> None:
    with pytest.raises(SignatureError) as info:
        verify(SECRET, timestamp=timestamp, signature=signature, body=body, now=NOW, max_skew=300)
    assert info.value.check == check
