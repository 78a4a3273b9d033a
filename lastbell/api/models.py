"""API tokens: made by district admins, shown once, stored hashed, scoped and revocable."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class Permission(models.TextChoices):
    BOARD_READ = "board:read", "Read day boards"
    ATTENDANCE_WRITE = "attendance:write", "Send attendance events"
    BUSES_WRITE = "buses:write", "Sync bus assignments"
    PEOPLE_WRITE = "people:write", "Upsert students and guardians"


PREFIX = "lb_"


def digest(token: str) -> str:
    # Tokens carry 256 random bits: a plain SHA-256 is enough, a slow hash would add nothing.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    district = models.ForeignKey("schools.District", on_delete=models.CASCADE, related_name="+")
    # Empty: the whole district. Set: that school only.
    school = models.ForeignKey(
        "schools.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=100)
    permissions = models.JSONField(default=list)
    key_id = models.CharField(max_length=16, unique=True)  # shown in lists, finds the row
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.key_id})"

    @classmethod
    def issue(cls, **fields) -> tuple["ApiToken", str]:
        """A new token and its secret, which exists only in the return value."""
        key_id = secrets.token_hex(4)
        secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(key_id=key_id, key_hash=digest(secret), **fields)
        return token, secret

    @classmethod
    def find(cls, secret: str) -> "ApiToken | None":
        if not secret.startswith(PREFIX) or "_" not in secret[len(PREFIX) :]:
            return None
        key_id = secret[len(PREFIX) :].split("_", 1)[0]
        token = cls.objects.select_related("district", "school").filter(key_id=key_id).first()
        if token is None or not secrets.compare_digest(token.key_hash, digest(secret)):
            return None
        return token

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, permission: str) -> bool:
        return permission in self.permissions

    def covers(self, school) -> bool:
        if school.district_id != self.district_id:
            return False
        return self.school_id is None or self.school_id == school.pk

    def touch(self):
        # Recorded at most once a minute: a busy feed should not write a row per request.
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
