from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class EmailUserManager(UserManager):
    """Users sign in with their email address; the username mirrors it."""

    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email or username)
        return super()._create_user(email, email, password, **extra_fields)

    def create_user(self, email=None, password=None, **extra_fields):
        return super().create_user(email, email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):
        return super().create_superuser(email, email, password, **extra_fields)


class User(AbstractUser):
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = EmailUserManager()

    def save(self, *args, **kwargs):
        self.username = self.email
        super().save(*args, **kwargs)

    def __str__(self):
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", "District admin"
    SCHOOL_ADMIN = "school_admin", "School admin"
    DISMISSAL_STAFF = "dismissal_staff", "Dismissal staff"
    TEACHER = "teacher", "Teacher"


class StaffMembership(models.Model):
    """What a staff user may do, and where.

    A district admin's membership names the district and no school: it covers every school
    of the district. Every other role names one school.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    district = models.ForeignKey("schools.District", on_delete=models.CASCADE)
    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, null=True, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    homerooms = models.ManyToManyField("schools.Homeroom", blank=True, related_name="teachers")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(role="district_admin", school__isnull=True))
                | (~models.Q(role="district_admin") & models.Q(school__isnull=False)),
                name="membership_school_matches_role",
            ),
            models.UniqueConstraint(
                fields=["user", "district", "school", "role"], name="membership_unique"
            ),
        ]

    def __str__(self):
        where = self.school or self.district
        return f"{self.user} — {self.get_role_display()} at {where}"
