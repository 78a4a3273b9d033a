"""Truancy policies (DESIGN.md §4) and the letters the tracker needs to know about.

A district has one policy; a school may override it with its own. Without a saved policy the
California default applies (Education Code 48260–48263): unexcused full-day absences and
unexcused tardies or early departures of more than 30 minutes count, per school year; letter 1
at 3, letter 2 at 6, letter 3 at 9.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from lastbell.attendance.models import Category

# What a policy may count: every category but present.
COUNTABLE = [(value, label) for value, label in Category.choices if value != Category.PRESENT]
PART_DAY = ("tardy", "early_departure")


def default_counts() -> list[str]:
    return [Category.ABSENT_UNEXCUSED, Category.TARDY_UNEXCUSED, Category.EARLY_UNEXCUSED]


def default_levels() -> list[dict]:
    return [
        {"threshold": 3, "name": "Letter 1: first truancy notice"},
        {"threshold": 6, "name": "Letter 2: parent conference"},
        {"threshold": 9, "name": "Letter 3: habitual truant, SARB referral"},
    ]


MAX_LEVELS = 5
DEFAULT_TARDY_MINUTES = 30


def school_year_around(on: dt.date) -> tuple[dt.date, dt.date]:
    """July 1 to June 30: the school year `on` falls in, for a district with no policy yet."""
    first = on.year if on.month >= 7 else on.year - 1
    return dt.date(first, 7, 1), dt.date(first + 1, 6, 30)


class TruancyPolicy(models.Model):
    """Which attendance counts toward truancy, and at which counts each letter is due.

    `school` empty: the district's policy; else that school's override, which replaces the
    district's policy as a whole. Changing a policy changes who is due from then on; letters
    already issued keep what they were issued with.
    """

    district = models.ForeignKey(
        "schools.District", on_delete=models.CASCADE, related_name="truancy_policies"
    )
    school = models.OneToOneField(
        "schools.School", on_delete=models.CASCADE, null=True, blank=True,
        related_name="truancy_policy",
    )  # fmt: skip
    counts = models.JSONField(default=default_counts)  # Category values
    # A tardy or early departure counts when it is longer than this (California: 30).
    tardy_minutes = models.PositiveSmallIntegerField(default=DEFAULT_TARDY_MINUTES)
    levels = models.JSONField(default=default_levels)  # [{"threshold": n, "name": "…"}]
    year_starts_on = models.DateField()
    year_ends_on = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district"],
                condition=Q(school__isnull=True),
                name="truancy_policy_one_per_district",
            ),  # fmt: skip
            models.CheckConstraint(
                condition=Q(year_ends_on__gt=models.F("year_starts_on")),
                name="truancy_policy_year_forward",
            ),
        ]

    def __str__(self):
        where = self.school.name if self.school_id else "district"
        return f"Truancy policy ({where})"

    @classmethod
    def california(cls, district, on: dt.date) -> "TruancyPolicy":
        """The default for a district that saved none (not saved)."""
        start, end = school_year_around(on)
        return cls(district=district, year_starts_on=start, year_ends_on=end)

    @property
    def is_default(self) -> bool:
        return self.pk is None

    @property
    def level_count(self) -> int:
        return len(self.levels)

    def threshold(self, level: int) -> int | None:
        """The count at which letter `level` (from 1) is due; None past the last level."""
        if 1 <= level <= len(self.levels):
            return int(self.levels[level - 1]["threshold"])
        return None

    def level_name(self, level: int) -> str:
        if 1 <= level <= len(self.levels):
            return self.levels[level - 1]["name"]
        return f"Level {level}"

    def reached(self, count: int) -> int:
        """The highest level whose threshold `count` meets (0: none)."""
        return sum(1 for level in self.levels if count >= int(level["threshold"]))

    def window(self, on: dt.date) -> tuple[dt.date, dt.date]:
        """The days that count when asked on `on`: the school year up to `on`."""
        return self.year_starts_on, min(self.year_ends_on, on)

    def counted(self, prefix: str = "") -> Q:
        """The attendance rows this policy counts, as a condition on Absence (`prefix`:
        the path to it, e.g. "absences__" from Student). The one definition of "counts"."""
        parts = []
        for category in self.counts:
            kind, excused = Category.split(category)
            part = Q(**{f"{prefix}kind": kind, f"{prefix}excused": excused})
            if kind in PART_DAY:
                part &= Q(**{f"{prefix}minutes__gt": self.tardy_minutes})
            parts.append(part)
        if not parts:
            return Q(**{f"{prefix}pk__in": []})
        condition = parts[0]
        for part in parts[1:]:
            condition |= part
        return condition

    def describe(self) -> str:
        labels = dict(COUNTABLE)
        counted = ", ".join(str(labels[c]).lower() for c in self.counts)
        return f"Counts {counted}; tardies and early departures only when longer than " \
               f"{self.tardy_minutes} minutes."  # fmt: skip

    def clean(self):
        problems = {}
        if not self.counts:
            problems["counts"] = "Choose at least one kind of attendance that counts."
        elif set(self.counts) - {value for value, _ in COUNTABLE}:
            problems["counts"] = "One of the kinds of attendance chosen is not known."
        if self.tardy_minutes is not None and self.tardy_minutes > 480:
            problems["tardy_minutes"] = "Give at most 480 minutes (a whole school day)."
        if self.year_starts_on and self.year_ends_on:
            if self.year_ends_on <= self.year_starts_on:
                problems["year_ends_on"] = "The school year must end after it starts."
            elif (self.year_ends_on - self.year_starts_on).days > 366:
                problems["year_ends_on"] = (
                    "A school year is at most one year long: check the end date."
                )
        level_problem = levels_problem(self.levels)
        if level_problem:
            problems["levels"] = level_problem
        if problems:
            raise ValidationError(problems)


def levels_problem(levels: list[dict]) -> str | None:
    """Why these letter levels can't be used, in plain words, or None."""
    if not levels:
        return "Give at least the first letter: the count at which it is due and its name."
    if len(levels) > MAX_LEVELS:
        return f"A policy has at most {MAX_LEVELS} letters."
    previous = 0
    for number, level in enumerate(levels, start=1):
        threshold, name = level.get("threshold"), (level.get("name") or "").strip()
        if not isinstance(threshold, int) or threshold < 1:
            return f"Letter {number} needs a count of 1 or more."
        if threshold <= previous:
            return (
                f"Letter {number} must be due at a higher count than letter {number - 1} "
                f"({previous}): letters go in order."
            )
        if not name:
            return f"Letter {number} needs a name, such as “Letter {number}”."
        previous = threshold
    return None


class LetterQuerySet(models.QuerySet):
    def in_force(self, starts_on: dt.date, ends_on: dt.date, tz) -> "LetterQuerySet":
        """Letters not voided, issued in the school year from `starts_on` to `ends_on` (the
        district's days, in its time zone `tz`)."""
        start = dt.datetime.combine(starts_on, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return self.filter(voided_at__isnull=True, issued_at__gte=start, issued_at__lt=end)


class Letter(models.Model):
    """A truancy letter issued to a student: what the tracker needs to know who already had
    which letter. Issuing, batches, documents and voiding with a reason are the letters
    module's; it may add fields, but a letter is never deleted, only voided."""

    student = models.ForeignKey(
        "people.Student", on_delete=models.CASCADE, related_name="truancy_letters"
    )
    level = models.PositiveSmallIntegerField()
    issued_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["issued_at"]
        indexes = [models.Index(fields=["student", "level"], name="letter_student_level")]

    def __str__(self):
        return f"Letter {self.level} to {self.student} ({self.issued_at:%Y-%m-%d})"
