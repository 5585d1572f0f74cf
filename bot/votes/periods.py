"""Read the time filters users type: an ISO date or time, or a span back from now ("7d")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.errors import InputError

_SPAN = re.compile(r"^(\d{1,5})\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    value = text.strip()
    span = _SPAN.match(value.lower())
    if span:
        amount, unit = int(span.group(1)), span.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"`{text}` is not a time: use a date like 2026-05-01, a time like "
            "2026-05-01T12:00, or a span back from now like 30m, 12h, 7d or 4w."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
