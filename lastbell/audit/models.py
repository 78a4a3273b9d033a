from django.conf import settings
from django.db import models


class Via(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    IMPORT = "import", "Import"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    """One change of state, written in the same transaction as the change. Never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=80)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200)
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.WEB)
    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(
        "schools.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    student = models.ForeignKey(
        "people.Student", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_type = models.CharField(max_length=50)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["school", "-at"]),
            models.Index(fields=["student", "-at"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
