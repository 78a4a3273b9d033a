from django.conf import settings
from django.db import models

from lastbell.plans.models import Source


class Absence(models.Model):
    """An absence or early departure from the attendance system, one per student and day.

    Nobody sets an absence as a plan by hand; it always wins on the day board, and deleting or
    correcting it brings the normal plan back by itself.
    """

    class Kind(models.TextChoices):
        ABSENT = "absent", "Absent all day"
        EARLY_DEPARTURE = "early_departure", "Early departure"

    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="absences")
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ABSENT)
    excused = models.BooleanField(default=False)
    departs_at = models.TimeField(null=True, blank=True)
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
        ]
        indexes = [
            models.Index(fields=["date", "student"]),
            # A source's corrections and deletes find their absence by its event id.
            models.Index(fields=["external_id"], name="absence_external_id"),
        ]

    def __str__(self):
        return f"{self.student} {self.get_kind_display()} {self.date}"
