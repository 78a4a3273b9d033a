"""The dismissal itself (DESIGN.md §3): the day, families' car tags, check-ins, and the chain
of custody — an append-only log of what happened to each student, by whom, to whom."""

import secrets

from django.conf import settings
from django.db import connection, models


class DismissalDay(models.Model):
    """One per school per school day, made by itself the first time anything asks for it."""

    class Mode(models.TextChoices):
        NORMAL = "normal", "Normal"
        EARLY_RELEASE = "early_release", "Early release"
        EMERGENCY = "emergency", "Emergency"

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.NORMAL)
    dismiss_at = models.TimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    emergency_at = models.DateTimeField(null=True, blank=True)
    emergency_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    emergency_message = models.TextField(blank=True)
    reunification_site = models.CharField(max_length=200, blank=True)
    # The all clear: the emergency is over and the day's normal rules apply again. The mode
    # stays "emergency" (the day was one: its log and the reports say so).
    emergency_ended_at = models.DateTimeField(null=True, blank=True)
    emergency_ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    emergency_end_note = models.TextField(blank=True)
    # When the day's dismissal was completed (DESIGN.md §3), whatever its mode; not written
    # yet. An emergency's end has its own fields above.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    # The district's retention (lastbell/privacy) deleted the day's chain of custody; the
    # reports read the day's figures from here instead (dismissal/reports.py).
    events_purged_at = models.DateTimeField(null=True, blank=True)
    released_count = models.PositiveIntegerField(default=0)  # releases not undone
    released_late_count = models.PositiveIntegerField(default=0)
    flagged_late_count = models.PositiveIntegerField(default=0)
    first_release_at = models.DateTimeField(null=True, blank=True)
    last_release_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["school", "date"], name="dismissal_day_unique"),
        ]
        indexes = [models.Index(fields=["school", "-date"])]

    def __str__(self):
        return f"{self.school} {self.date}"

    @property
    def is_emergency(self) -> bool:
        """The emergency rules are in force now: switched to emergency and not ended."""
        return self.mode == self.Mode.EMERGENCY and self.emergency_ended_at is None

    @property
    def had_emergency(self) -> bool:
        """The day was switched to emergency, whether or not it has ended since: its log is
        an emergency log, and nobody is flagged late that day."""
        return self.mode == self.Mode.EMERGENCY

    @property
    def emergency_ended(self) -> bool:
        return self.had_emergency and self.emergency_ended_at is not None


def _tag_code() -> str:
    return secrets.token_urlsafe(12)


class CarTag(models.Model):
    """A family's number at a school, on the hang tag in the car, with a QR code of `code`.

    A family is the school's students who share a guardian: siblings share one tag.
    """

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    # What the QR code carries: random, so a tag number cannot be guessed from another.
    code = models.CharField(max_length=32, unique=True, default=_tag_code)
    students = models.ManyToManyField("people.Student", through="TagStudent", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "number"], name="car_tag_number_unique"),
        ]

    def __str__(self):
        return f"Tag {self.number}"


class TagStudent(models.Model):
    tag = models.ForeignKey(CarTag, on_delete=models.CASCADE, related_name="members")
    student = models.OneToOneField("people.Student", on_delete=models.CASCADE, related_name="tag")

    def __str__(self):
        return f"{self.student_id} in tag {self.tag_id}"


class Verification(models.TextChoices):
    """How staff knew the adult at the curb was who they said."""

    CAR_TAG = "car_tag", "Car tag"
    QR = "qr", "QR code"
    PHOTO_ID = "photo_id", "Photo ID"
    KNOWN = "known", "Known to staff"
    GUARDIAN_APP = "guardian_app", "Signed in on the parent page"
    NONE = "", "Not verified"


class Arrival(models.Model):
    """A family checked in: "I'm here" on a phone, the QR scanned, the tag number typed or a
    name found by curb staff. One arrival covers the family's students on campus."""

    class Method(models.TextChoices):
        PHONE = "phone", "I'm here on the phone"
        QR = "qr", "QR code scanned"
        TAG = "tag", "Car tag number"
        NAME = "name", "Name search"
        DESK = "desk", "Reunification desk"

    day = models.ForeignKey(DismissalDay, on_delete=models.CASCADE, related_name="arrivals")
    tag = models.ForeignKey(CarTag, on_delete=models.SET_NULL, null=True, blank=True)
    guardian = models.ForeignKey(
        "people.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    adult_name = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=10, choices=Method.choices)
    door = models.CharField(max_length=50, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.adult_name or self.tag} at {self.at:%H:%M}"


class AppendOnly(Exception):
    pass


# What a student's erasure may blank in their chain of custody (lastbell/privacy): the names
# of adults and the notes. Who, what and when stay, so the day's counts stay.
REDACTABLE = ("to_label", "note")


class CustodyEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("The chain of custody is never edited: add a correcting event.")

    def delete(self):
        raise AppendOnly("The chain of custody is never deleted: add a correcting event.")

    def _allow(self, what: str):
        # On PostgreSQL the trigger of migration 0004 lets this transaction through, and no
        # other (SET LOCAL ends with it).
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lastbell.custody_{what} = 'on'")

    def retention_purge(self) -> int:
        """Delete these events for the district's retention: the only way they go. Must run
        in a transaction that first keeps the days' counts (privacy/services.py)."""
        if not connection.in_atomic_block:
            raise AppendOnly("A purge of the chain of custody runs in its own transaction.")
        self._allow("purge")
        return self._raw_delete(self.db)

    def redact(self, **blanks) -> int:
        """Blank names and notes of these events for a student's erasure: nothing else."""
        if set(blanks) - set(REDACTABLE) or not connection.in_atomic_block:
            raise AppendOnly("Only names and notes are blanked, in the erasure's transaction.")
        self._allow("redact")
        return models.QuerySet.update(self, **blanks)


class CustodyEvent(models.Model):
    """One step of a student's day: checked in for, sent to the door, released (to an adult or
    with a group), an undo of an earlier event, flagged late, or an emergency status.

    Append-only: saving an existing event, updating or deleting raises AppendOnly.
    """

    class Kind(models.TextChoices):
        CHECKED_IN = "checked_in", "Family checked in"
        SENT = "sent", "Sent to the door"
        RELEASED = "released", "Released"
        UNDONE = "undone", "Undone"
        LATE = "late", "Still on campus after dismissal"
        ACCOUNTED = "accounted", "Accounted for"
        MISSING = "missing", "Missing"
        INJURED = "injured", "Injured"

    class To(models.TextChoices):
        GUARDIAN = "guardian", "Guardian"
        ADULT = "adult", "Authorized adult"
        BUS = "bus", "Bus"
        WALK = "walk", "Walkers"
        BIKE = "bike", "Bikes"
        PROGRAM = "program", "After-school program"

    day = models.ForeignKey(DismissalDay, on_delete=models.CASCADE, related_name="events")
    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    by_label = models.CharField(max_length=200, blank=True)
    arrival = models.ForeignKey(Arrival, on_delete=models.SET_NULL, null=True, blank=True)
    # A release: to whom, and how staff knew them. The names are kept as they were at the
    # time, whatever later happens to the records.
    to = models.CharField(max_length=10, choices=To.choices, blank=True)
    guardian = models.ForeignKey(
        "people.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    adult = models.ForeignKey(
        "people.AuthorizedAdult", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    to_label = models.CharField(max_length=200, blank=True)
    verification = models.CharField(max_length=15, choices=Verification.choices, blank=True)
    door = models.CharField(max_length=50, blank=True)
    undoes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="undone_by"
    )
    # Emergency reunification: the staff member who brought the student, and whether the
    # student said they were comfortable leaving with the adult.
    reunifier = models.CharField(max_length=200, blank=True)
    comfortable = models.BooleanField(null=True)
    late = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)

    objects = CustodyEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["day", "student", "at"]),
            models.Index(fields=["student", "at"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.student} {self.at:%H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnly("The chain of custody is never edited: add a correcting event.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("The chain of custody is never deleted: add a correcting event.")
