"""Per-inbox configuration, as the rest of Wingman reads it: what wingman.toml says about
each Chatwoot inbox. ``core.config_file`` reads and validates the file; ``core.config_store``
keeps it current while Wingman runs. The schema is documented in ``wingman.example.toml``.

Runtime switches (autonomy set by admins, mutes) live in the database; this file holds what
an operator edits by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from core.autonomy_levels import Autonomy
from core.hours import WorkingHours

DEFAULT_DISCLOSURE = "🤖"


@dataclass(frozen=True)
class Agent:
    id: int
    name: str


@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class PriceItem:
    product: str
    list_price: Decimal
    min_price: Decimal


@dataclass(frozen=True)
class PriceList:
    currency: str
    items: tuple[PriceItem, ...]

    def item(self, product: str) -> PriceItem | None:
        """The item named ``product``, ignoring case and surrounding spaces."""
        wanted = product.strip().casefold()
        return next((i for i in self.items if i.product.casefold() == wanted), None)


@dataclass(frozen=True)
class WhatsAppTemplate:
    name: str
    language: str
    category: str
    params: tuple[str, ...] = ()


# Re-activation's default schedule: three steps, all inside a 24-hour messaging window.
DEFAULT_FOLLOW_UP_STEPS = (timedelta(minutes=20), timedelta(hours=3), timedelta(hours=20))


@dataclass(frozen=True)
class FollowUpConfig:
    """Re-activation of dormant leads in one inbox (off unless the file turns it on).

    ``steps`` are delays after the customer's last message; ``late_step`` is an optional
    last step outside a 24-hour window, which only WhatsApp can take (with a template).
    """

    enabled: bool = False
    steps: tuple[timedelta, ...] = DEFAULT_FOLLOW_UP_STEPS
    late_step: timedelta | None = None
    holdout_share: float = 0.2
    max_per_contact: int = 3
    cap_period: timedelta = timedelta(days=7)
    # Follow up conversations a human owns (open, or assigned to a person) too.
    human_owned: bool = False

    @property
    def schedule(self) -> tuple[timedelta, ...]:
        """Every step's delay in order, the late step last."""
        return self.steps + ((self.late_step,) if self.late_step else ())


@dataclass(frozen=True)
class InboxConfig:
    """What the file says about one Chatwoot inbox; unlisted inboxes get only the autonomy."""

    inbox_id: int
    autonomy: Autonomy
    name: str | None = None
    knowledge_path: Path | None = None
    disclosure: str = DEFAULT_DISCLOSURE
    locales: tuple[str, ...] = ()
    link_domains: tuple[str, ...] = ()
    on_duty_agent: Agent | None = None
    on_duty_team: Team | None = None
    whatsapp_template: WhatsAppTemplate | None = None
    working_hours: WorkingHours | None = None
    prices: PriceList | None = None
    experiment: str | None = None
    follow_ups: FollowUpConfig = field(default_factory=FollowUpConfig)


@dataclass(frozen=True)
class WingmanConfig:
    default_autonomy: Autonomy
    inboxes: dict[int, InboxConfig] = field(default_factory=dict)

    def inbox(self, inbox_id: int) -> InboxConfig:
        """The inbox's config, or the defaults if the file doesn't list it."""
        if inbox_id in self.inboxes:
            return self.inboxes[inbox_id]
        return InboxConfig(inbox_id=inbox_id, autonomy=self.default_autonomy)
