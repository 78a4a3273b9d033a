"""A school's scheduled bus feed (issue 4 §5): where the transportation system leaves the
school's bus assignments, when Last Bell fetches them, and what each pull did.

The fetched file goes through the same import as an uploaded one (imports/csvfeeds.py); a pull
applies all of it or nothing (see services.py).
"""

import datetime as dt

from django.conf import settings
from django.db import models

DEFAULT_PULL_AT = dt.time(2, 0)


class BusFeed(models.Model):
    """One per school. `next_pull_at` is when the worker pulls next (empty while turned off);
    `pull_requested_at` is a person's "Pull now" that the worker has not taken yet."""

    class Kind(models.TextChoices):
        FOLDER = "folder", "A folder on the Last Bell server"
        URL = "url", "A web address (https)"

    school = models.OneToOneField(
        "schools.School", on_delete=models.CASCADE, related_name="bus_feed"
    )
    kind = models.CharField("where the file comes from", max_length=10, choices=Kind.choices,
                            default=Kind.FOLDER)  # fmt: skip
    folder = models.CharField(max_length=500, blank=True)
    url = models.CharField("web address", max_length=2000, blank=True)
    # The Authorization header sent with the request, e.g. "Bearer …"; never shown back whole.
    authorization = models.CharField(max_length=2000, blank=True)
    pull_at = models.TimeField("pull every day at", default=DEFAULT_PULL_AT)
    enabled = models.BooleanField("pull on schedule", default=True)
    next_pull_at = models.DateTimeField(null=True, blank=True)
    pull_requested_at = models.DateTimeField(null=True, blank=True)
    pull_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_pull_ok = models.BooleanField(null=True, blank=True)
    last_pull_summary = models.TextField(blank=True)
    # The content last applied: the same file again is "unchanged" and is not applied twice.
    applied_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Bus feed of {self.school}"

    @property
    def source(self) -> str:
        return self.folder if self.kind == self.Kind.FOLDER else self.url

    @property
    def authorization_hint(self) -> str:
        """What the page shows of the saved Authorization value: its last four characters."""
        if not self.authorization:
            return ""
        return "••••" + (self.authorization[-4:] if len(self.authorization) >= 12 else "")

    def next_pull_after(self, moment: dt.datetime) -> dt.datetime:
        """The first `pull_at` at the school strictly after `moment`, in UTC.

        Counted in local days, so 2:00 stays 2:00 across a daylight-saving change; a time the
        clocks skip (2:30 on the spring-forward night) happens at the same moment as an hour
        later (3:30)."""
        tz = self.school.tz
        day = moment.astimezone(tz).date()
        for offset in range(3):
            local = dt.datetime.combine(day + dt.timedelta(days=offset), self.pull_at, tzinfo=tz)
            candidate = local.astimezone(dt.UTC)
            if candidate > moment:
                return candidate
        raise AssertionError("a local time of day recurs within three days")


class FeedPull(models.Model):
    """One pull of a feed, whatever came of it."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        UNCHANGED = "unchanged", "No change"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        PERSON = "person", "Pull now"

    feed = models.ForeignKey(BusFeed, on_delete=models.CASCADE, related_name="pulls")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    file_name = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)  # {"created": n, "updated": n, …}
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["feed", "-started_at"])]

    def __str__(self):
        return f"{self.feed} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"

    @property
    def counts_text(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in self.counts.items() if n)
