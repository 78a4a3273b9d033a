import datetime as dt
import pathlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class StudentQuerySet(models.QuerySet):
    def active_on(self, date: dt.date):
        """Enrolled on that date: counted on the board. Inactive or future students are not."""
        return self.filter(enrolled_on__lte=date).filter(
            Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=date)
        )


class Student(models.Model):
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="students")
    sis_id = models.CharField("student id", max_length=64)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    grade = models.CharField(max_length=8)
    homeroom = models.ForeignKey(
        "schools.Homeroom",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="students",
    )
    enrolled_on = models.DateField()
    withdrawn_on = models.DateField(null=True, blank=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "sis_id"], name="student_sis_id_unique"),
        ]
        indexes = [models.Index(fields=["school", "last_name", "first_name"])]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.preferred_name or self.first_name} {self.last_name}"

    def is_active_on(self, date: dt.date) -> bool:
        return self.enrolled_on <= date and (self.withdrawn_on is None or self.withdrawn_on >= date)


class Guardian(models.Model):
    district = models.ForeignKey(
        "schools.District", on_delete=models.CASCADE, related_name="guardians"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardian",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    mobile = models.CharField(max_length=40, blank=True)
    # Where letters go by post (truancy letters), as the roster or Ed-Fi file gives it.
    mailing_address = models.TextField(blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    source_id = models.CharField(max_length=64, blank=True)
    students = models.ManyToManyField(Student, through="GuardianLink", related_name="guardians")

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"


class GuardianLink(models.Model):
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="links")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardian_links")
    relationship = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guardian", "student"], name="guardian_link_unique"),
        ]

    def __str__(self):
        return f"{self.guardian} → {self.student}"


def _private_upload(folder: str, filename: str) -> str:
    """A random name under private/: the uploaded name is never trusted or shown in a path.

    The extension comes from the file's checked content (people/files.py renames it first).
    """
    return f"private/{folder}/{uuid.uuid4().hex}{pathlib.PurePath(filename).suffix.lower()}"


def adult_photo_path(instance, filename):
    return _private_upload("pickup-photos", filename)


def court_order_path(instance, filename):
    return _private_upload("court-orders", filename)


class PickupSource(models.TextChoices):
    GUARDIAN = "guardian", "Guardian"
    STAFF = "staff", "Staff"


def name_key(name: str) -> str:
    """How two spellings of one name compare: case and spacing do not matter."""
    return " ".join(name.split()).casefold()


class AuthorizedAdultQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)


class AuthorizedAdult(models.Model):
    """An adult a guardian (or the office) named as allowed to pick a student up.

    Removal is soft: the dismissal chain of custody must still be able to name who was on
    file when a student was released.
    """

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="authorized_adults")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    relationship = models.CharField(max_length=50)
    phone = models.CharField(max_length=40)
    photo = models.FileField(upload_to=adult_photo_path, blank=True, max_length=200)
    note = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=10, choices=PickupSource.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    objects = AuthorizedAdultQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [models.Index(fields=["student", "removed_at"])]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class RestrictionKind(models.TextChoices):
    # Guardians see the restrictions on their child's pickup page.
    DO_NOT_RELEASE = "do_not_release", _("Do not release to")
    NO_CONTACT = "no_contact", _("No contact with")
    SUPERVISED_ONLY = "supervised_only", _("Supervised contact only, do not release to")


class CustodyRestrictionQuerySet(models.QuerySet):
    def not_ended(self):
        return self.filter(ended_at__isnull=True)

    def in_effect_on(self, date: dt.date):
        """Recorded, not ended by staff, and the court order's dates cover `date`."""
        return (
            self.not_ended()
            .filter(starts_on__lte=date)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=date))
        )

    def current_or_upcoming(self, date: dt.date):
        return self.not_ended().filter(Q(ends_on__isnull=True) | Q(ends_on__gte=date))


class CustodyRestriction(models.Model):
    """A court-ordered limit on who may take a student ("do not release to …").

    Staff record and end restrictions; they are never deleted, and guardians see them but
    cannot change them. Any restriction in effect blocks a release to the person it names.
    """

    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="custody_restrictions"
    )
    person_name = models.CharField("restricted person", max_length=200)
    person_description = models.CharField("description", max_length=500, blank=True)
    kind = models.CharField(max_length=20, choices=RestrictionKind.choices)
    court_order_reference = models.CharField(max_length=200)
    court_order_file = models.FileField(upload_to=court_order_path, blank=True, max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    end_reason = models.CharField(max_length=500, blank=True)

    objects = CustodyRestrictionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_on", "id"]
        indexes = [models.Index(fields=["student", "ended_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="custody_restriction_dates_order",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.person_name}"

    def in_effect(self, date: dt.date) -> bool:
        """The same test as the queryset's in_effect_on, for a restriction already loaded."""
        return (
            self.ended_at is None
            and self.starts_on <= date
            and (self.ends_on is None or self.ends_on >= date)
        )

    def names(self, name: str) -> bool:
        """Whether `name` is the restricted person's, whatever its case and spacing."""
        return name_key(name) == name_key(self.person_name)
