import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q


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
