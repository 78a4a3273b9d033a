from django.conf import settings
from django.db import models

from lastbell.plans.models import Source


class Absence(models.Model):
    """A day's attendance other than present, one per student and day: absent all day, tardy
    or an early departure (DESIGN.md §4), excused or not. "Present" is the absence of a row.

    Nobody sets an absence as a plan by hand; on the day board a full-day absence wins and an
    early departure becomes an early dismissal, while a tardy leaves the plan alone (the
    student is at school at dismissal). Deleting or correcting it brings the normal plan back
    by itself. The truancy tracker counts these rows (lastbell/truancy/tracker.py).
    """

    class Kind(models.TextChoices):
        ABSENT = "absent", "Absent all day"
        EARLY_DEPARTURE = "early_departure", "Early departure"
        TARDY = "tardy", "Tardy"

    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="absences")
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ABSENT)
    excused = models.BooleanField(default=False)
    departs_at = models.TimeField(null=True, blank=True)
    # Minutes late (tardy) or missed (early departure), as the source says or, for an early
    # departure, until the school's usual dismissal. None: nobody knows, and the truancy
    # tracker cannot count it as more than its threshold.
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.IMPORT)
    source_detail = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["student", "date"], name="absence_one_per_day"),
            models.CheckConstraint(
                condition=~models.Q(kind="early_departure") | models.Q(departs_at__isnull=False),
                name="early_departure_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["tardy", "early_departure"])
                | models.Q(minutes__isnull=True),
                name="absence_minutes_part_day_only",
            ),
        ]
        indexes = [
            models.Index(fields=["date", "student"]),
            # A source's corrections and deletes find their absence by its event id.
            models.Index(fields=["external_id"], name="absence_external_id"),
        ]

    def __str__(self):
        return f"{self.student} {self.get_kind_display()} {self.date}"

    @property
    def category_label(self) -> str:
        """In the office's words: "Unexcused absence", "Tardy, 45 min (excused)"."""
        if self.kind == self.Kind.ABSENT:
            return "Excused absence" if self.excused else "Unexcused absence"
        label = self.get_kind_display()
        if self.kind == self.Kind.EARLY_DEPARTURE and self.departs_at:
            label += f" at {self.departs_at:%-I:%M %p}"
        if self.minutes is not None:
            label += f", {self.minutes} min"
        return f"{label} ({'excused' if self.excused else 'unexcused'})"


class Category(models.TextChoices):
    """The categories of DESIGN.md §4 that a source's code maps to: a kind and whether it is
    excused. "Present" withdraws whatever the day had."""

    PRESENT = "present", "Present"
    ABSENT_UNEXCUSED = "absent_unexcused", "Unexcused absence"
    ABSENT_EXCUSED = "absent_excused", "Excused absence"
    TARDY_UNEXCUSED = "tardy_unexcused", "Tardy (unexcused)"
    TARDY_EXCUSED = "tardy_excused", "Tardy (excused)"
    EARLY_UNEXCUSED = "early_departure_unexcused", "Early departure (unexcused)"
    EARLY_EXCUSED = "early_departure_excused", "Early departure (excused)"

    @classmethod
    def split(cls, category: str) -> tuple[str, bool]:
        """'tardy_excused' → ('tardy', True); 'present' → ('present', False)."""
        if category == cls.PRESENT:
            return "present", False
        kind, _, excused = category.rpartition("_")
        return kind, excused == "excused"

    @classmethod
    def of(cls, kind: str, excused: bool) -> "Category":
        if kind == "present":
            return cls.PRESENT
        return cls(f"{kind}_{'excused' if excused else 'unexcused'}")


class AttendanceCode(models.Model):
    """A district's own attendance code, mapped to a category of DESIGN.md §4.

    A district without codes of its own uses DEFAULT_CODES (attendance/codes.py); once it saves
    its list, that list is the whole mapping (so a default can be dropped). `key` is the code
    as matched: trimmed, lower case, single spaces.
    """

    district = models.ForeignKey(
        "schools.District", on_delete=models.CASCADE, related_name="attendance_codes"
    )
    code = models.CharField(max_length=300)
    key = models.CharField(max_length=300)
    category = models.CharField(max_length=30, choices=Category.choices)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["district", "key"], name="attendance_code_once"),
        ]

    def __str__(self):
        return f"{self.code} → {self.category}"
