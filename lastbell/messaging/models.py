"""The outbox: every email and text message to a family is a row before it is a send."""

from django.conf import settings
from django.db import models
from django.utils import timezone

# Between a failure's sentence for the school office and its technical detail for IT.
DETAIL_MARK = "\nTechnical detail: "


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class Kind(models.TextChoices):
    PLAN_CONFIRMATION = "plan_confirmation", "Plan confirmation"
    MISSING_PLAN = "missing_plan", "No plan yet"
    INVITATION = "invitation", "Invitation"
    SIGN_IN_LINK = "sign_in_link", "Sign-in link"
    LATE_PICKUP = "late_pickup", "Late pickup"
    EMERGENCY = "emergency", "Emergency instructions"
    ALL_CLEAR = "all_clear", "All clear (emergency over)"
    TRUANCY_LETTER = "truancy_letter", "Truancy letter"
    OTHER = "other", "Other"


class Status(models.TextChoices):
    QUEUED = "queued", "Waiting to send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Not delivered"


class Message(models.Model):
    """One email or text message, kept whatever happens to it.

    While a message is `sending`, `next_attempt_at` is the end of the sender's lease: if the
    worker dies mid-send, the message becomes due again after it instead of staying stuck.
    """

    school = models.ForeignKey(
        "schools.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )  # empty for a district-wide message
    student = models.ForeignKey(
        "people.Student", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    guardian = models.ForeignKey(
        "people.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    to = models.CharField("to", max_length=254)
    subject = models.CharField(max_length=250, blank=True)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    language = models.CharField(max_length=8, default="en")
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.OTHER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    provider_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The worker's "what is due" query.
            models.Index(fields=["status", "next_attempt_at"], name="message_due"),
            # The school's Messages page, newest first.
            models.Index(fields=["school", "-created_at"], name="message_school_recent"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} to {self.to}"

    @property
    def can_retry(self) -> bool:
        return self.status in (Status.QUEUED, Status.FAILED)

    @property
    def recipient_label(self) -> str:
        return f"{self.guardian} ({self.to})" if self.guardian_id else self.to

    @property
    def error_reason(self) -> str:
        """The part of the last error written for the school office."""
        return self.last_error.partition(DETAIL_MARK)[0]

    @property
    def error_detail(self) -> str:
        return self.last_error.partition(DETAIL_MARK)[2]
