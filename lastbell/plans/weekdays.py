"""Sets of weekdays stored as a bit mask (Monday = bit 0), as Python's date.weekday()."""

from collections.abc import Iterable

from lastbell.schools.models import WEEKDAY_SHORT

ALL_DAYS = 0b1111111
SCHOOL_WEEK = 0b0011111


def bit(weekday: int) -> int:
    return 1 << weekday


def mask_of(weekdays: Iterable[int | str]) -> int:
    mask = 0
    for day in weekdays:
        mask |= bit(int(day))
    return mask


def days_of(mask: int) -> list[int]:
    return [day for day in range(7) if mask & bit(day)]


def label(mask: int) -> str:
    """'Mon–Wed, Fri' for humans; consecutive days collapse into a range."""
    days = days_of(mask)
    if not days:
        return ""
    if mask == SCHOOL_WEEK:
        return "Mon–Fri"
    if mask == ALL_DAYS:
        return "every day"
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_SHORT[run[0]]}–{WEEKDAY_SHORT[run[-1]]}")
        else:
            parts.extend(WEEKDAY_SHORT[day] for day in run)
    return ", ".join(parts)
