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


# The worker notes its progress at least every part of 50 letters (seconds apart).
STALLED_AFTER = dt.timedelta(minutes=10)


class LetterBatch(models.Model):
    """One run of "issue": the letters of one level issued together at a school or across the
    district, who ran it, and its one PDF (made by the task worker, lastbell/truancy/tasks.py).

    The PDF's progress is on the row: the worker renders outside any long transaction, so a
    short UPDATE now and then never waits behind other writers for long.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Making the PDF"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    class Delivery(models.TextChoices):
        PRINT = "print", "Print and mail"
        EMAIL = "email", "Email the guardians (and print for those without email)"

    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="+")
    # Empty: a district-wide run (district admins only).
    school = models.ForeignKey(
        "schools.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    level = models.PositiveSmallIntegerField()
    level_name = models.CharField(max_length=120)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.PRINT)
    issued = models.PositiveIntegerField(default=0)
    # Previewed but no longer due when issued: [{"name": "…", "why": "…"}], at most MAX_DROPPED.
    dropped = models.JSONField(default=list, blank=True)
    dropped_count = models.PositiveIntegerField(default=0)
    # What staff gave for the run: conference place and times (letter 2), board (letter 3).
    details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)  # why the PDF failed, in plain words
    pdf_name = models.CharField(max_length=100, blank=True)  # under DATA_DIR/letters
    pdf_pages = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    emailed = models.PositiveIntegerField(default=0)  # emails queued to guardians
    emailed_at = models.DateTimeField(null=True, blank=True)

    MAX_DROPPED = 200

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["district", "school", "-created_at"], name="letter_batch_recent")
        ]

    def __str__(self):
        return f"Run {self.pk}: {self.level_name}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def stalled(self) -> bool:
        """Making the PDF, yet silent for STALLED_AFTER: its worker probably stopped."""
        from django.utils import timezone

        quiet_since = self.progress_at or self.created_at
        return self.status == self.Status.RUNNING and timezone.now() - quiet_since > STALLED_AFTER

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def pdf_path(self):
        from lastbell.truancy.documents import letters_dir

        return letters_dir() / self.pdf_name if self.pdf_name else None

    def has_pdf(self) -> bool:
        path = self.pdf_path
        return self.status == self.Status.DONE and path is not None and path.exists()


class Letter(models.Model):
    """A truancy letter issued to a student. Never deleted: a letter issued in error is voided
    with a reason. Issued only by `services.letters_issue`, which records what the letter was
    issued with (count, dates, threshold), so a later policy change or excused absence never
    rewrites it; the tracker reads which letters are in force."""

    student = models.ForeignKey(
        "people.Student", on_delete=models.CASCADE, related_name="truancy_letters"
    )
    # The student's school when it was issued (a student who moves keeps the letter there).
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField()
    level_name = models.CharField(max_length=120, blank=True)
    # The first day of the policy's school year it was issued in: one letter of a level a year.
    year_starts_on = models.DateField()
    count = models.PositiveSmallIntegerField(default=0)
    threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    dates = models.JSONField(default=list, blank=True)  # ISO dates that counted, oldest first
    batch = models.ForeignKey(
        LetterBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="letters"
    )
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    void_reason = models.CharField(max_length=500, blank=True)
    # Staff looked at it after the count fell below its level, and kept it.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["issued_at"]
        indexes = [
            models.Index(fields=["student", "level"], name="letter_student_level"),
            models.Index(fields=["school", "-issued_at"], name="letter_school_recent"),
        ]
        constraints = [
            # Never issued twice: whatever two staff do at once, the database keeps one.
            models.UniqueConstraint(
                fields=["student", "level", "year_starts_on"],
                condition=Q(voided_at__isnull=True),
                name="letter_once_a_year",
            ),
        ]

    def __str__(self):
        return f"Letter {self.level} to {self.student} ({self.issued_at:%Y-%m-%d})"

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    def counted_dates(self) -> list[dt.date]:
        return [dt.date.fromisoformat(day) for day in self.dates]


class LetterTemplate(models.Model):
    """A district's own text of one letter in one language (HTML with merge fields, rendered
    by the sandbox in lastbell/truancy/sandbox.py). Without one, the default applies
    (lastbell/templates/truancy/letters/)."""

    district = models.ForeignKey(
        "schools.District", on_delete=models.CASCADE, related_name="letter_templates"
    )
    level = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district", "level", "language"], name="letter_template_once"
            ),
        ]

    def __str__(self):
        return f"Letter {self.level} ({self.language})"


class Conference(models.Model):
    """The parent conference a letter 2 invites to (Education Code 48262 asks the school to
    try to hold one before a student is a habitual truant)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        NO_SHOW = "no_show", "Family did not come"
        CANCELLED = "cancelled", "Cancelled"

    letter = models.OneToOneField(Letter, on_delete=models.CASCADE, related_name="conference")
    scheduled_at = models.DateTimeField(null=True, blank=True)  # empty: family to call
    place = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    def __str__(self):
        return f"Conference for {self.letter}"


class Referral(models.Model):
    """A letter 3's referral of a habitual truant to the attendance review board (SARB,
    Education Code 48263), and what came of it."""

    class Status(models.TextChoices):
        REFERRED = "referred", "Referred"
        HEARING_SET = "hearing_set", "Hearing set"
        HEARD = "heard", "Board met"
        CLOSED = "closed", "Closed"

    letter = models.OneToOneField(Letter, on_delete=models.CASCADE, related_name="referral")
    board = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REFERRED)
    hearing_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    def __str__(self):
        return f"Referral for {self.letter}"
