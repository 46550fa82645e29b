"""Wait for the customer to finish typing before a reply is generated.

Redis decides only WHEN a conversation's reply job runs; the database says WHICH messages
a draft answers. Per conversation Redis holds the times of the customer messages not yet
answered, at most one pending timer job, and a generation lock. The reply job is expected
to look like this:

    def reply(conversation_id: int, timer: str | None = None) -> None:
        if not reply_timer.fire(conversation_id, timer=timer).run_now:
            return
        with reply_timer.lock(conversation_id, ttl=...) as held:
            if not held:
                return  # the holder reads the database after us and covers our messages
            covered_up_to = generate(...)  # time of the newest customer message answered
        reply_timer.settle(conversation_id, covered_up_to)

RQ's own tools are not used for this (see STYLE.md): ``enqueue_in`` ignores ``unique=True``
and the move from scheduled to queued is not atomic, so a fixed job id can run twice.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from redis import Redis
from rq import Queue

from workers.queue import schedule_at

Reason = Literal["waiting", "quiet", "max_wait", "busy", "idle", "stale"]

# A pending timer fires at most max(max_wait, debounce) ahead; the slack covers a slow
# scheduler. Past that the claim is presumed lost, so a dead timer blocks nobody for long.
TIMER_TTL_FACTOR = 3
# Unanswered times must outlive a generation; once a conversation goes cold they go too.
STATE_TTL_FACTOR = 10
MIN_TTL_SECONDS = 60.0

# All scripts take the state key (a sorted set of message times) and/or the timer key.
_TOUCH = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local claimed = redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) and 1 or 0
return {claimed, redis.call('ZRANGE', KEYS[1], 0, 0)[1], redis.call('ZRANGE', KEYS[1], -1, -1)[1]}
"""
_SETTLE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local first = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not first then return {0} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local claimed = redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) and 1 or 0
return {1 + claimed, first, redis.call('ZRANGE', KEYS[1], -1, -1)[1]}
"""
# The timer job may take the timer over if nobody holds it (it expired, or a retry of a job
# that had released it), but never from another pending timer: that one will re-check.
_OWN = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# Delete only our own claim: a lock or timer that expired may already be someone else's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Decision:
    """Run the reply now, or have the timer look again at ``recheck_at``."""

    run_now: bool
    reason: Reason
    recheck_at: float | None = None
    without_transcription: bool = False
    # When the reply became due, for a run: how late the timer fired is measured from it.
    due_at: float | None = field(default=None, compare=False)


def decide(
    now: float,
    *,
    first_at: float,
    last_at: float,
    debounce: float,
    max_wait: float,
    awaiting_transcription: bool = False,
    busy: bool = False,
) -> Decision:
    """Whether the customer has finished: quiet for ``debounce``, or waited on for ``max_wait``.

    A pending transcription changes nothing about the timing: the quiet period after the
    voice note already gives it the seconds it normally takes, and waiting longer would let
    a transcription that never comes postpone the reply. The decision says it is missing so
    the reply can be written without it. ``busy`` (a generation holds the lock) postpones a
    due run by one quiet period instead of dropping it, so it cannot be lost.
    """
    quiet_at = last_at + debounce
    due_at = min(quiet_at, first_at + max_wait)
    if now < due_at:
        return Decision(False, "waiting", recheck_at=due_at)
    if busy:
        return Decision(False, "busy", recheck_at=now + debounce)
    reason: Reason = "quiet" if now >= quiet_at else "max_wait"
    return Decision(True, reason, without_transcription=awaiting_transcription, due_at=due_at)


class ReplyTimer:
    """One pending timer and one generation at a time per conversation, kept in Redis."""

    def __init__(
        self,
        redis: Redis,
        queue: Queue,
        *,
        job: str,
        debounce: float,
        max_wait: float,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        job_timeout: int | None = None,
    ) -> None:
        if debounce < 0 or max_wait < 0:
            raise ValueError("debounce and max_wait must not be negative")
        self.redis, self.queue, self.job = redis, queue, job
        self.debounce, self.max_wait, self.clock = debounce, max_wait, clock
        # SystemRandom by default: a seeded Random copied into forked workers repeats tokens.
        self.rng = rng or random.SystemRandom()
        self.job_timeout = job_timeout
        self.timer_ttl_ms = _ms(max(TIMER_TTL_FACTOR * max(max_wait, debounce), MIN_TTL_SECONDS))
        self.state_ttl_ms = _ms(max(STATE_TTL_FACTOR * max_wait, MIN_TTL_SECONDS))
        self._touch = redis.register_script(_TOUCH)
        self._settle = redis.register_script(_SETTLE)
        self._own = redis.register_script(_OWN)
        self._release = redis.register_script(_RELEASE)

    @staticmethod
    def key(conversation_id: int, part: Literal["times", "timer", "lock"]) -> str:
        return f"wingman:reply:{conversation_id}:{part}"

    def busy(self, conversation_id: int) -> bool:
        """True while a timer job is pending or a generation holds the lock."""
        keys = (self.key(conversation_id, "timer"), self.key(conversation_id, "lock"))
        return bool(self.redis.exists(*keys))

    def touch(self, conversation_id: int, at: float) -> bool:
        """Record a customer message sent at ``at``; True if this call started the timer.

        Call it from a job, once per message (a repeat for the same ``at`` is harmless).
        If a timer is already pending it is left alone: it re-checks when it fires.
        """
        token = self._token()
        keys = [self.key(conversation_id, "times"), self.key(conversation_id, "timer")]
        args: list[str | int] = [repr(at), self.state_ttl_ms, token, self.timer_ttl_ms]
        claimed, first, last = self._touch(keys=keys, args=args)
        if claimed:
            self._schedule(conversation_id, token, float(first), float(last))
        return bool(claimed)

    def fire(self, conversation_id: int, *, timer: str | None = None) -> Decision:
        """For the timer job: run now, or re-schedule itself (keeping the one timer claim).

        ``timer`` is the token the job was enqueued with; without one (a manual rescue) the
        call acts only if no timer is pending. A stale timer's decision is ``"stale"``.
        """
        token = timer or self._token()
        timer_key = self.key(conversation_id, "timer")
        if not self._own(keys=[timer_key], args=[token, self.timer_ttl_ms]):
            return Decision(False, "stale")
        times = self.snapshot(conversation_id)
        if times is None:
            self._release(keys=[timer_key], args=[token])
            return Decision(False, "idle")
        decision = decide(
            self.clock(),
            first_at=times[0],
            last_at=times[1],
            debounce=self.debounce,
            max_wait=self.max_wait,
            busy=bool(self.redis.exists(self.key(conversation_id, "lock"))),
        )
        if decision.recheck_at is not None:
            self._enqueue(conversation_id, token, decision.recheck_at)
        else:
            self._release(keys=[timer_key], args=[token])
        return decision

    @contextmanager
    def lock(self, conversation_id: int, ttl: float) -> Iterator[bool]:
        """Hold the conversation's generation lock for at most ``ttl`` seconds; yields
        whether it was acquired. Choose ``ttl`` above the reply job's timeout."""
        key, token = self.key(conversation_id, "lock"), self._token()
        held = bool(self.redis.set(key, token, nx=True, px=_ms(ttl)))
        try:
            yield held
        finally:
            if held:
                self._release(keys=[key], args=[token])

    def snapshot(self, conversation_id: int) -> tuple[float, float] | None:
        """(first_at, last_at) of the unanswered customer messages, or None if there are none."""
        key = self.key(conversation_id, "times")
        with self.redis.pipeline() as pipe:
            pipe.zrange(key, 0, 0)
            pipe.zrange(key, -1, -1)
            first, last = pipe.execute()
        if not first or not last:
            return None
        return float(first[0]), float(last[0])

    def settle(self, conversation_id: int, covered_up_to: float) -> bool:
        """Forget the messages a draft answered (sent at or before ``covered_up_to``).

        True if newer messages remain; a timer is then pending for them (this call starts
        one unless one already is), so a message sent mid-generation gets one follow-up.
        """
        token = self._token()
        keys = [self.key(conversation_id, "times"), self.key(conversation_id, "timer")]
        args: list[str | int] = [repr(covered_up_to), self.state_ttl_ms, token, self.timer_ttl_ms]
        outcome, *times = self._settle(keys=keys, args=args)
        if outcome == 2:
            self._schedule(conversation_id, token, float(times[0]), float(times[1]))
        return bool(outcome)

    def _schedule(self, conversation_id: int, token: str, first_at: float, last_at: float) -> None:
        now = self.clock()
        decision = decide(
            now, first_at=first_at, last_at=last_at, debounce=self.debounce, max_wait=self.max_wait
        )
        self._enqueue(
            conversation_id, token, now if decision.recheck_at is None else decision.recheck_at
        )

    def _enqueue(self, conversation_id: int, token: str, when: float) -> None:
        # The registry's score is the exact due time: Wingman's scheduler moves the job at
        # that time; RQ's own, which compares whole seconds, at the next whole second, never
        # early (an early job would only re-schedule itself).
        try:
            schedule_at(
                self.queue,
                when,
                self.job,
                conversation_id,
                timer=token,
                job_timeout=self.job_timeout,
            )
        except Exception:
            # Give the claim back so the next touch schedules instead of waiting for expiry.
            self._release(keys=[self.key(conversation_id, "timer")], args=[token])
            raise

    def _token(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
