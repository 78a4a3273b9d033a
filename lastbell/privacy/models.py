"""What the district keeps, and for how long (issue 7 §2): retention per district, and the
record that a departed student's personal data was erased."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Two school years of who took whom home; a year of what was said to families.
DEFAULT_DISMISSAL_EVENT_DAYS = 730
DEFAULT_MESSAGE_BODY_DAYS = 365


class RetentionPolicy(models.Model):
    """How long a district keeps each student's chain of custody and the text of messages.

    Without a saved policy the defaults apply. Older dismissal events are deleted, and each
    day keeps its counts for the reports; older messages keep who, when and whether it was
    delivered, not what they said.
    """

    district = models.OneToOneField(
        "schools.District", on_delete=models.CASCADE, related_name="retention_policy"
    )
    dismissal_event_days = models.PositiveIntegerField(
        _("keep dismissal events (days)"),
        default=DEFAULT_DISMISSAL_EVENT_DAYS,
        validators=[MinValueValidator(30), MaxValueValidator(3650)],
        help_text=_("Who picked up each student, step by step. Between 30 and 3650 days."),
    )
    message_body_days = models.PositiveIntegerField(
        _("keep the text of messages (days)"),
        default=DEFAULT_MESSAGE_BODY_DAYS,
        validators=[MinValueValidator(7), MaxValueValidator(3650)],
        help_text=_("Emails and texts to families. Between 7 and 3650 days."),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    def __str__(self):
        return f"Retention at {self.district}"

    @classmethod
    def for_district(cls, district) -> "RetentionPolicy":
        """The district's saved policy, or the defaults (not saved)."""
        return cls.objects.filter(district=district).first() or cls(district=district)


class Erasure(models.Model):
    """A departed student whose personal data was erased: when and by whom. The student row
    stays, anonymous, so the counts and the audit log that point at it still add up."""

    student = models.OneToOneField(
        "people.Student", on_delete=models.CASCADE, related_name="erasure"
    )
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    def __str__(self):
        return f"Student {self.student_id} erased"
