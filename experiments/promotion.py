"""Promoting an arm to autopilot only on evidence, and demoting it at any time.

An arm may go to autopilot when reps would have approved it anyway: enough decided drafts,
a high enough share sent unedited (judged by its lower 95% Wilson bound, not the raw share,
so 5 of 5 doesn't pass for proof), and no guardrail failure among its latest drafts. The
evidence belongs to one arm version: a new version starts over, in draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core.models import Arm, AutonomyChange, Draft
from experiments.arms import current_arm
from experiments.stats import wilson_lower

# decided = a rep (or a human's own reply) settled it; "replaced" is not decided.
DECIDED = ("sent", "edited", "skipped", "superseded")


class PromotionError(ValueError):
    """The arm doesn't exist, or the evidence isn't there; the message gives the numbers."""


@dataclass(frozen=True)
class Evidence:
    decided: int
    sent_unedited: int
    recent: int
    recent_guardrail_failures: int

    @property
    def approval_lower_bound(self) -> float:
        return wilson_lower(self.sent_unedited, self.decided)


def evidence(session: Session, arm_id: int, *, last_n: int) -> Evidence:
    # Follow-ups to dormant leads don't count: promotion is about answering customers.
    replies = (Draft.arm_id == arm_id, col(Draft.follow_up_id).is_(None))
    states = list(session.exec(select(Draft.state).where(*replies)))
    recent = session.exec(
        select(Draft.guardrails)
        .where(*replies, col(Draft.guardrails).is_not(None))
        .order_by(col(Draft.id).desc())
        .limit(last_n)
    ).all()
    failures = sum(1 for checks in recent if checks and checks.get("passed") is False)
    return Evidence(
        decided=sum(1 for state in states if state in DECIDED),
        sent_unedited=sum(1 for state in states if state == "sent"),
        recent=len(recent),
        recent_guardrail_failures=failures,
    )


def shortfalls(ev: Evidence, *, min_decided: int, min_approval: float) -> list[str]:
    """Each promotion condition that fails, with its numbers (pure)."""
    problems = []
    if ev.decided < min_decided:
        problems.append(f"only {ev.decided} decided drafts; at least {min_decided} are needed")
    if ev.approval_lower_bound < min_approval:
        problems.append(
            f"{ev.sent_unedited} of {ev.decided} sent unedited: the lower 95% bound "
            f"{ev.approval_lower_bound:.3f} is below {min_approval:.3f}"
        )
    if ev.recent_guardrail_failures:
        problems.append(
            f"{ev.recent_guardrail_failures} of its last {ev.recent} drafts failed a guardrail"
        )
    return problems


def resolve(session: Session, ref: str) -> Arm:
    """An arm's current version from "experiment/key" (or a key unique across experiments)."""
    if "/" in ref:
        experiment, key = ref.split("/", 1)
        arm = current_arm(session, experiment, key)
        if arm is None:
            raise PromotionError(f"no arm {ref!r}; see experiments/experiments.toml")
        return arm
    matches = list(session.exec(select(Arm).where(Arm.key == ref, col(Arm.current))))
    if len(matches) != 1:
        found = "no" if not matches else "more than one"
        raise PromotionError(f"{found} current arm is called {ref!r}; use experiment/key")
    return matches[0]


def set_autonomy(
    session: Session,
    ref: str,
    autonomy: str,
    *,
    actor: str,
    now: datetime,
    min_decided: int,
    min_approval: float,
) -> tuple[Arm, Evidence]:
    """Promote ("autopilot", only on evidence) or demote ("draft", always); audited."""
    if not actor.strip():
        raise PromotionError("an actor is required: who is changing the arm?")
    arm = resolve(session, ref)
    assert arm.id is not None
    ev = evidence(session, arm.id, last_n=min_decided)
    if autonomy == "autopilot":
        problems = shortfalls(ev, min_decided=min_decided, min_approval=min_approval)
        if problems:
            raise PromotionError(
                f"{arm.experiment}/{arm.key} v{arm.version} can't be promoted: "
                + "; ".join(problems)
            )
    before, arm.autonomy = arm.autonomy, autonomy
    session.add(
        AutonomyChange(
            subject="arm",
            subject_id=f"{arm.experiment}/{arm.key}@v{arm.version}",
            from_autonomy=before,
            to_autonomy=autonomy,
            actor=actor,
            changed_at=now,
        )
    )
    return arm, ev
