"""A delivery that can't be processed: numbers from text are bounded, a delivery that keeps
failing is parked with its reason instead of being retried forever, and the operator sees
and settles it (issue 10, finding 5). Real Redis, a real worker, both databases."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.models import Delivery
from tests.loop_harness import DEBOUNCE, T0, Loop
from workers import approvals, commands, jobs
from workers.llm import Reply

HUGE_REFS = ["D3000000000", "D" + "9" * 30, "D" + "9" * 5000]


def test_a_draft_number_is_read_within_bounds() -> None:
    parsed = commands.parse("/send D41")
    assert parsed is not None and parsed.draft_id == 41
    for ref in HUGE_REFS:
        command = commands.parse(f"/send {ref} please")
        assert command is not None
        # It names a draft, and no draft can have that number: never "the newest draft".
        assert command.draft_ref is not None and command.draft_id is None
        assert command.text == "please"
        assert len(command.draft_ref) <= 16


def pending_draft(loop: Loop) -> None:
    loop.composer.add(Reply(bubbles=["Yes, it fits two adults!"]))
    loop.customer_says("Does the Trail Tent fit two?", at=T0)
    loop.run(at=T0 + DEBOUNCE + 1)
    [draft] = loop.drafts()
    assert draft.state == "pending"


def stored_deliveries(loop: Loop) -> list[Delivery]:
    with Session(loop.engine) as session:
        return list(session.exec(select(Delivery).order_by(col(Delivery.id))))


@pytest.mark.parametrize("ref", HUGE_REFS, ids=["int4", "int8", "5000 digits"])
def test_a_draft_number_no_database_holds_is_not_a_draft_here(loop: Loop, ref: str) -> None:
    pending_draft(loop)
    loop.rep_types(f"/send {ref}")
    loop.run()
    assert all(d.processed_at is not None and d.parked_at is None for d in stored_deliveries(loop))
    [draft] = loop.drafts()
    assert draft.state == "pending"  # not sent: the rep named another draft
    refusal = loop.fake.notes()[-1]
    assert "is not a draft here" in refusal and ref[:12] in refusal
    assert loop.fake.public() == []


def break_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the command handler is broken")

    monkeypatch.setattr(approvals, "handle", boom)


def sweep(loop: Loop) -> None:
    """A minute on, the delivery sweeper's periodic run, then whatever it re-enqueued."""
    loop.clock.now += 61  # past DELIVERY_REQUEUE_AFTER_SECONDS
    loop.queue.enqueue("workers.jobs.requeue_stale_deliveries")
    loop.run()


def the_command_delivery(loop: Loop) -> Delivery:
    [delivery] = [d for d in stored_deliveries(loop) if '"/skip"' in d.body]
    return delivery


def test_a_delivery_that_keeps_failing_is_parked_and_never_retried_blindly(
    loop: Loop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pending_draft(loop)
    break_commands(monkeypatch)
    loop.rep_types("/skip")
    loop.run()
    first = the_command_delivery(loop)
    assert first.attempts == 1 and first.parked_at is None
    assert first.last_error is not None and "the command handler is broken" in first.last_error
    with caplog.at_level(logging.ERROR, logger="workers.parking"):
        sweep(loop)
        sweep(loop)
    parked = the_command_delivery(loop)
    assert parked.attempts == 3 and parked.parked_at is not None and parked.processed_at is None
    assert "RuntimeError: the command handler is broken" in (parked.last_error or "")
    [line] = [r.getMessage() for r in caplog.records if "parked" in r.getMessage()]
    assert f"delivery {parked.id}" in line and "flask --app bot deliveries" in line
    for _ in range(3):
        sweep(loop)
    assert the_command_delivery(loop).attempts == 3  # never run again by itself
    assert loop.queue.count == 0


def test_a_delivery_whose_worker_dies_every_time_is_parked(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    pending_draft(loop)

    def worker_killed(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("killed")  # nothing after this runs, as when the OOM killer strikes

    monkeypatch.setattr(approvals, "handle", worker_killed)
    loop.rep_types("/skip")
    delivery_id = the_command_delivery(loop).id
    assert delivery_id is not None
    loop.queue.empty()
    for _ in range(3):
        with pytest.raises(SystemExit):
            jobs.process_delivery(delivery_id)
    assert jobs.process_delivery(delivery_id) is False  # the fourth start parks it instead
    parked = the_command_delivery(loop)
    assert parked.parked_at is not None and parked.attempts == 3
    assert "stopped 3 times" in (parked.last_error or "")


def test_readyz_counts_parked_deliveries_without_going_down(
    loop: Loop, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pending_draft(loop)
    break_commands(monkeypatch)
    loop.rep_types("/skip")
    loop.run()
    sweep(loop)
    sweep(loop)
    response = make_app().test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] != "down"
    assert response.json["parked_deliveries"] == 1


def test_the_operator_lists_retries_and_drops_parked_deliveries(
    loop: Loop, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pending_draft(loop)
    break_commands(monkeypatch)
    loop.rep_types("/skip")
    loop.run()
    sweep(loop)
    sweep(loop)
    loop.rep_types("/bot off")
    loop.run()
    sweep(loop)
    sweep(loop)
    runner = make_app().test_cli_runner()
    listed = runner.invoke(args=["deliveries", "parked"])
    assert listed.exit_code == 0, listed.output
    skip_id, bot_off_id = [d.id for d in stored_deliveries(loop) if d.parked_at is not None]
    assert f"{skip_id}" in listed.output and "RuntimeError" in listed.output
    assert "message_created" in listed.output and "3 attempts" in listed.output

    monkeypatch.undo()  # the fix is deployed
    retried = runner.invoke(args=["deliveries", "retry", str(skip_id)])
    assert retried.exit_code == 0, retried.output
    loop.run()
    [draft] = loop.drafts()
    assert draft.state == "skipped"

    dropped = runner.invoke(args=["deliveries", "drop", str(bot_off_id)])
    assert dropped.exit_code == 0, dropped.output
    sweep(loop)
    assert not loop.conversation().bot_muted  # the dropped /bot off never ran
    after = runner.invoke(args=["deliveries", "parked"])
    assert str(skip_id) not in after.output and str(bot_off_id) not in after.output
    assert "no parked deliveries" in after.output


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["deliveries", "retry", "424242"], "no delivery 424242"),
        (["deliveries", "drop", "424242"], "no delivery 424242"),
        (["deliveries", "retry", "0"], "0"),
        (["deliveries", "retry", "x"], "x"),
    ],
)
def test_retry_and_drop_refuse_what_they_cannot_do(
    make_app: Any, args: list[str], problem: str
) -> None:
    result = make_app().test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert problem in result.output


def test_retry_refuses_a_delivery_that_is_not_parked(loop: Loop, make_app: Any) -> None:
    pending_draft(loop)
    [first, *_] = stored_deliveries(loop)
    result = make_app().test_cli_runner().invoke(args=["deliveries", "retry", str(first.id)])
    assert result.exit_code != 0
    assert "not parked" in result.output


def test_a_recorded_error_shows_no_password(loop: Loop, monkeypatch: pytest.MonkeyPatch) -> None:
    pending_draft(loop)

    def leaky(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("can't reach postgresql://wingman:hunter2-secret@db:5432/wingman")

    monkeypatch.setattr(approvals, "handle", leaky)
    loop.rep_types("/skip")
    loop.run()
    error = the_command_delivery(loop).last_error or ""
    assert "postgresql://wingman:***@db" in error and "hunter2" not in error
