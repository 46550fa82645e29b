"""The answer to "have we ever reactivated anyone?": follow-up leads against the holdout.

A lead is a conversation the first time it went dormant; each was assigned, at random, to
``follow_up`` or ``holdout`` (``experiments.holdout``), and every window below starts at
that assignment, for both groups alike. Per inbox, and per inbox and arm:

- **replied**: the contact wrote again (in any of their conversations) within
  ``reply_window`` (72 h) of the assignment;
- **converted**: the lead's conversation was labelled sold within ``convert_within`` of
  the assignment (its label's first sighting, ``conversations.label_times``);
- each share with its 95% Wilson interval, and the **lift**, follow-up minus holdout, with
  Newcombe's 95% interval for a difference of two proportions (``experiments.stats``).

Because the groups were drawn at random, the lift is what the follow-ups caused: leads who
would have come back anyway are in both groups alike. Figures per schedule step are
descriptive only: reaching step 2 depends on step 1 (and on not replying to it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from core.models import Arm, Conversation, Draft, FollowUp, Lead, Message
from experiments.holdout import FOLLOW_UP, HOLDOUT
from experiments.outcomes import DEFAULT_LABEL
from experiments.stats import mean, newcombe_interval, wilson_interval

REPLY_WINDOW = timedelta(hours=72)
CONVERT_WITHIN = timedelta(days=14)


@dataclass(frozen=True)
class LeadFacts:
    """One lead as the report needs it."""

    inbox_id: int
    arm: str | None  # "experiment/key", or None
    group: str
    assigned_at: datetime
    replied_at: datetime | None  # the contact's first message after the assignment
    converted_at: datetime | None  # when its conversation was first seen labelled sold


@dataclass(frozen=True)
class Share:
    successes: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.n if self.n else None

    @property
    def ci(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n)


@dataclass(frozen=True)
class Lift:
    follow_up: Share
    holdout: Share

    @property
    def difference(self) -> float | None:
        if not self.follow_up.n or not self.holdout.n:
            return None
        return self.follow_up.successes / self.follow_up.n - self.holdout.successes / self.holdout.n

    @property
    def ci(self) -> tuple[float, float]:
        f, h = self.follow_up, self.holdout
        return newcombe_interval(f.successes, f.n, h.successes, h.n)


@dataclass(frozen=True)
class LiftRow:
    """One row: an inbox (``arm`` None: all its leads), or one arm within it."""

    inbox_id: int
    arm: str | None
    replied: Lift
    converted: Lift

    @property
    def sentence(self) -> str:
        return sentence(self.replied)


def build(
    leads: Iterable[LeadFacts],
    *,
    reply_window: timedelta = REPLY_WINDOW,
    convert_within: timedelta = CONVERT_WITHIN,
) -> list[LiftRow]:
    """Per inbox, then per inbox and arm (arms only where an inbox has any). A lead whose
    window is still running counts as not (yet) replied or converted, in both groups alike,
    so recent leads dilute the shares without favouring either group."""
    groups: dict[tuple[int, str | None], list[LeadFacts]] = defaultdict(list)
    for lead in leads:
        groups[(lead.inbox_id, None)].append(lead)
        if lead.arm is not None:
            groups[(lead.inbox_id, lead.arm)].append(lead)
    rows = []
    for (inbox_id, arm), members in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        rows.append(
            LiftRow(
                inbox_id=inbox_id,
                arm=arm,
                replied=_lift(
                    members, lambda x: _within(x.assigned_at, x.replied_at, reply_window)
                ),
                converted=_lift(
                    members, lambda x: _within(x.assigned_at, x.converted_at, convert_within)
                ),
            )
        )
    return rows


def sentence(lift: Lift) -> str:
    """The answer in words, per 100 leads, with its 95% interval."""
    f, h = lift.follow_up, lift.holdout
    if not f.n or not h.n:
        return (
            f"not enough leads yet to tell: {f.n} got follow-ups and {h.n} were held out "
            "(both groups need leads)"
        )
    difference = lift.difference
    assert difference is not None
    low, high = (round(v * 100) for v in lift.ci)
    per_100 = round(difference * 100)
    interval = f"(95% CI {low}–{high})"
    if low > 0:
        return (
            f"follow-ups brought back {per_100} of 100 leads who would not have come back "
            f"{interval}"
        )
    if high < 0:
        return f"leads who got follow-ups came back less often: {-per_100} fewer of 100 {interval}"
    return (
        f"no clear effect yet: {per_100:+d} of 100 leads {interval}; the interval includes "
        "zero, so follow-ups may bring back some, none, or put some off"
    )


@dataclass(frozen=True)
class StepCounts:
    step: int
    states: dict[str, int]


def steps(session: Session, inbox_id: int | None = None) -> list[StepCounts]:
    """How each step's decisions went (descriptive only: later steps depend on earlier)."""
    query = select(FollowUp.step, FollowUp.state).join(Lead, col(Lead.id) == col(FollowUp.lead_id))
    if inbox_id is not None:
        query = query.where(Lead.inbox_id == inbox_id)
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for step, state in session.exec(query):
        counts[step][state] += 1
    return [StepCounts(step, dict(counts[step])) for step in sorted(counts)]


@dataclass(frozen=True)
class Approvals:
    """How reps treated follow-up drafts: by state, and how much they changed the sent ones."""

    states: dict[str, int]
    mean_edit_distance: float | None


def approvals(session: Session, inbox_id: int | None = None) -> Approvals:
    query = (
        select(Draft.state, Draft.edit_distance)
        .join(Conversation, col(Conversation.id) == col(Draft.conversation_id))
        .where(col(Draft.follow_up_id).is_not(None))
    )
    if inbox_id is not None:
        query = query.where(Conversation.inbox_id == inbox_id)
    states: Counter[str] = Counter()
    distances = []
    for state, distance in session.exec(query):
        states[state] += 1
        if state in ("sent", "edited") and distance is not None:
            distances.append(distance)
    return Approvals(dict(states), mean(distances))


def load(session: Session, *, label: str = DEFAULT_LABEL) -> list[LeadFacts]:
    """Every lead, with its contact's first message after assignment and its conversion."""
    rows = session.exec(
        select(Lead, Conversation, Arm)
        .join(Conversation, col(Conversation.id) == col(Lead.conversation_id))
        .outerjoin(Arm, col(Arm.id) == col(Lead.arm_id))
    ).all()
    facts = []
    for lead, conversation, arm in rows:
        replied = session.exec(
            select(Message.created_at)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(
                Conversation.contact_id == lead.contact_id,
                Message.sender_kind == "customer",
                col(Message.private).is_(False),
                Message.created_at > lead.assigned_at,
            )
            .order_by(col(Message.created_at))
        ).first()
        seen = (conversation.label_times or {}).get(label)
        converted = (
            datetime.fromtimestamp(seen, UTC)
            if seen is not None and label in (conversation.labels or [])
            else None
        )
        facts.append(
            LeadFacts(
                inbox_id=lead.inbox_id,
                arm=f"{arm.experiment}/{arm.key}" if arm is not None else None,
                group=lead.group,
                assigned_at=lead.assigned_at,
                replied_at=replied,
                converted_at=converted,
            )
        )
    return facts


def _lift(members: list[LeadFacts], success: Callable[[LeadFacts], bool]) -> Lift:
    shares = {}
    for group in (FOLLOW_UP, HOLDOUT):
        in_group = [m for m in members if m.group == group]
        shares[group] = Share(sum(1 for m in in_group if success(m)), len(in_group))
    return Lift(follow_up=shares[FOLLOW_UP], holdout=shares[HOLDOUT])


def _within(start: datetime, at: datetime | None, window: timedelta) -> bool:
    return at is not None and start <= at <= start + window
