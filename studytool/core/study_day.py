"""The study day: it rolls over at a local hour (``Settings.day_starts_at_hour``, Anki's 4 am),
not at midnight, so a late session still counts for the evening it began in.

Stored times are UTC; these functions convert through the machine's local time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def study_day_bounds(now: datetime, day_starts_at_hour: int) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the study day that the aware ``now`` falls in."""
    local = now.astimezone()
    start = local.replace(hour=day_starts_at_hour, minute=0, second=0, microsecond=0)
    if local < start:
        start -= timedelta(days=1)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def study_day(moment: datetime, day_starts_at_hour: int) -> date:
    """The study day (a local date) that the aware ``moment`` falls in."""
    return (moment.astimezone() - timedelta(hours=day_starts_at_hour)).date()


def day_start(day: date, day_starts_at_hour: int) -> datetime:
    """When the study day ``day`` begins, in UTC."""
    # A naive datetime's astimezone() reads it as local wall time, at that date's UTC offset.
    local = datetime(day.year, day.month, day.day, day_starts_at_hour).astimezone()
    return local.astimezone(UTC)
