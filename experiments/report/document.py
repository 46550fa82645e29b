"""The report as JSON, mirroring ``analytics.Report``, and the JSON-plain values the CSV
shares with it."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from experiments.analytics import Report
from experiments.metrics import Dollars
from experiments.stats import conversion_ci


def to_json(report: Report) -> str:
    """The whole report, mirroring ``analytics.Report``."""
    body = {"conversations": report.conversations, **plain(report)}
    return json.dumps(body, indent=2) + "\n"


def plain(value: Any) -> Any:
    """JSON types for the report's dataclasses; money as numbers, with each total."""
    if isinstance(value, Dollars):
        return {
            **{f.name: float(getattr(value, f.name)) for f in fields(value)},
            "total": float(value.total),
        }
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def baseline_numbers(conversations: int, converted: int) -> dict[str, Any]:
    low, high = conversion_ci(converted, conversations)
    return {
        "known_outcomes": conversations,
        "conversions": converted,
        "conversion_rate": converted / conversations if conversations else None,
        "conversion_ci_low": low,
        "conversion_ci_high": high,
    }


def with_baseline_json(text: str, conversations: int, converted: int) -> str:
    data = json.loads(text)
    data["baseline"] = {
        "conversations": conversations,
        **baseline_numbers(conversations, converted),
    }
    return json.dumps(data, indent=2) + "\n"
