import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lastbell.plans import weekdays


class PlanType(models.TextChoices):
    BUS = "bus", gettext_lazy("Bus")
    PICKUP = "pickup", gettext_lazy("Pickup")
    WALK = "walk", gettext_lazy("Walk")
    BIKE = "bike", gettext_lazy("Bike")
    EARLY_DISMISSAL = "early_dismissal", gettext_lazy("Early dismissal")
    PROGRAM = "program", gettext_lazy("After-school program")
    OTHER = "other", gettext_lazy("Other")
    ABSENCE = "absence", gettext_lazy("Absent")


# What a person may choose on a default or a change. Programs come from enrollments and
# absences only from attendance, so nobody picks them by hand.
SETTABLE_TYPES = [
    (PlanType.BUS, gettext_lazy("Bus")),
    (PlanType.PICKUP, gettext_lazy("Pickup")),
    (PlanType.WALK, gettext_lazy("Walk")),
    (PlanType.BIKE, gettext_lazy("Bike")),
    (PlanType.EARLY_DISMISSAL, gettext_lazy("Early dismissal")),
    (PlanType.OTHER, gettext_lazy("Other")),
]


class Source(models.TextChoices):
    # Guardians read these too: "set by staff" says why a plan is in effect.
    STAFF = "staff", gettext_lazy("Staff")
    GUARDIAN = "guardian", gettext_lazy("Guardian")
    IMPORT = "import", gettext_lazy("Import")
    SYSTEM = "system", gettext_lazy("System")


class Layer(models.TextChoices):
    """Where a day's plan came from, highest precedence first."""

    ABSENCE = "absence", "Attendance"
    CHANGE = "change", "Change"
    PROGRAM = "program", "Program"
    DEFAULT = "default", "Long-term default"


class Provenance(models.Model):
    """Who set a plan: every default, change and enrollment records it."""

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source_detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class PlanFields(models.Model):
    """The how-home part of a plan, shared by defaults and changes."""

    plan_type = models.CharField("how home", max_length=20, choices=PlanType.choices)
    bus_route = models.ForeignKey(
        "schools.BusRoute", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pickup_guardian = models.ForeignKey(
        "people.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pickup_name = models.CharField("picked up by", max_length=200, blank=True)
    dismiss_at = models.TimeField("early dismissal time", null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True

    def plan_errors(self, school, student=None) -> dict[str, str]:
        """What is wrong with this plan, in the office's words, keyed by field."""
        errors = {}
        kind = self.plan_type
        if kind == PlanType.ABSENCE:
            errors["plan_type"] = _(
                "Absences come from the attendance system and can't be set here."
            )
        elif kind == PlanType.PROGRAM:
            errors["plan_type"] = _(
                "To put a student in a program, enroll them on the Programs tab."
            )
        elif kind not in PlanType.values:
            errors["plan_type"] = _("Choose how the student gets home.")
        if kind == PlanType.BUS:
            if self.bus_route_id is None:
                errors["bus_route"] = _("Choose the bus route for a bus plan.")
            elif self.bus_route.school_id != school.id:
                errors["bus_route"] = _("That bus route belongs to another school.")
        if kind == PlanType.PICKUP and not (self.pickup_guardian_id or self.pickup_name.strip()):
            errors["pickup_name"] = _("Say who picks the student up: a guardian or another adult.")
        elif (
            kind == PlanType.PICKUP
            and self.pickup_guardian_id
            and student is not None
            and not student.guardian_links.filter(guardian_id=self.pickup_guardian_id).exists()
        ):
            errors["pickup_guardian"] = _("That person is not one of this student's guardians.")
        if kind == PlanType.PICKUP and student is not None and "pickup_guardian" not in errors:
            # A custody order on file outranks any plan: nobody can plan a release it forbids.
            from lastbell.people.services import restriction_naming

            who = self.pickup_guardian.full_name if self.pickup_guardian_id else self.pickup_name
            if who and (order := restriction_naming(student, who)) is not None:
                field = "pickup_guardian" if self.pickup_guardian_id else "pickup_name"
                errors[field] = _(
                    "A custody order on file (%(ref)s) says the student may not be released "
                    "to %(name)s. Call the school office."
                ) % {"ref": order.court_order_reference, "name": who}
        if kind == PlanType.EARLY_DISMISSAL and self.dismiss_at is None:
            errors["dismiss_at"] = _("Give the time of the early dismissal.")
        if kind == PlanType.OTHER and not self.note.strip():
            errors["note"] = _("Add a note that says how the student gets home.")
        return errors

    def clear_unused(self):
        """Drop details that belong to another type, so a bus plan never carries a pickup name."""
        kind = self.plan_type
        if kind != PlanType.BUS:
            self.bus_route = None
        if kind != PlanType.PICKUP:
            self.pickup_guardian = None
            self.pickup_name = ""
        if kind != PlanType.EARLY_DISMISSAL:
            self.dismiss_at = None

    def plan_snapshot(self) -> dict:
        snap = {"type": self.plan_type}
        if self.bus_route_id:
            snap["bus"] = self.bus_route.number
        if self.pickup_guardian_id:
            snap["pickup"] = self.pickup_guardian.full_name
        elif self.pickup_name:
            snap["pickup"] = self.pickup_name
        if self.dismiss_at:
            snap["time"] = self.dismiss_at.strftime("%H:%M")
        if self.note:
            snap["note"] = self.note
        return snap


class DatedQuerySet(models.QuerySet):
    def in_effect_on(self, date: dt.date):
        return self.filter(starts_on__lte=date).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=date)
        )


class LongTermDefault(Provenance):
    """A version of a student's standing plan. A new version ends the old one the day before."""

    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="defaults")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = DatedQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["student", "starts_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="default_dates_order",
            ),
        ]

    def __str__(self):
        return f"Default for {self.student} from {self.starts_on}"


class DefaultDay(PlanFields):
    """The plan of one weekday within a default version."""

    default = models.ForeignKey(LongTermDefault, on_delete=models.CASCADE, related_name="days")
    weekday = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["weekday"]
        constraints = [
            models.UniqueConstraint(fields=["default", "weekday"], name="default_day_unique"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="default_day_weekday"),
        ]
        indexes = [models.Index(fields=["weekday", "default"])]

    def __str__(self):
        return f"{self.get_plan_type_display()} on weekday {self.weekday}"


class PlanChange(Provenance, PlanFields):
    """A one-time or short-term change: one date, a range, or some weekdays within a range."""

    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="changes")
    starts_on = models.DateField()
    ends_on = models.DateField()
    weekdays = models.PositiveSmallIntegerField(default=weekdays.ALL_DAYS)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["starts_on", "ends_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="change_dates_order"
            ),
        ]

    def __str__(self):
        return f"Change for {self.student} {self.span_label}"

    @property
    def span_label(self) -> str:
        if self.starts_on == self.ends_on:
            return self.starts_on.strftime("%a %b %-d, %Y")
        span = f"{self.starts_on:%b %-d} – {self.ends_on:%b %-d, %Y}"
        if self.weekdays != weekdays.ALL_DAYS:
            span += f" ({weekdays.label(self.weekdays)})"
        return span

    def covers(self, date: dt.date) -> bool:
        return self.starts_on <= date <= self.ends_on and bool(
            self.weekdays & weekdays.bit(date.weekday())
        )


class Program(models.Model):
    class Kind(models.TextChoices):
        CARE = "care", "Care"
        CLUB = "club", "Club"
        TUTORING = "tutoring", "Tutoring"
        SPORTS = "sports", "Sports"
        OTHER = "other", "Other"

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="programs")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CLUB)
    weekdays = models.PositiveSmallIntegerField("meets on", default=weekdays.SCHOOL_WEEK)
    starts_on = models.DateField()
    ends_on = models.DateField()
    end_time = models.TimeField()
    capacity = models.PositiveIntegerField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="program_name_unique"),
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="program_dates_order"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def days_label(self):
        return weekdays.label(self.weekdays)


class Enrollment(Provenance):
    """A student in a program on some of the days it meets."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrollments")
    student = models.ForeignKey(
        "people.Student", on_delete=models.CASCADE, related_name="enrollments"
    )
    weekdays = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    objects = DatedQuerySet.as_manager()

    class Meta:
        ordering = ["student__last_name", "student__first_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="enrollment_dates_order",
            ),
        ]

    def __str__(self):
        return f"{self.student} in {self.program}"

    @property
    def days_label(self):
        return weekdays.label(self.weekdays)

    def clean_days(self) -> dict[str, str]:
        errors = {}
        if not self.weekdays:
            errors["weekdays"] = "Choose at least one day the student attends."
        elif self.weekdays & ~self.program.weekdays:
            extra = weekdays.label(self.weekdays & ~self.program.weekdays)
            errors["weekdays"] = (
                f"{self.program.name} does not meet on {extra}. It meets {self.program.days_label}."
            )
        return errors


def validation_error(errors: dict[str, str]) -> ValidationError:
    return ValidationError({field: [message] for field, message in errors.items()})


class BoardStamp(models.Model):
    """A school's board stamp (scope = school id; 0 = names of people, district-wide). Written
    only by the database triggers of plans/stamps.py, in the transaction of the write itself."""

    scope = models.BigIntegerField(primary_key=True)
    token = models.BigIntegerField()

    def __str__(self):
        return f"{self.scope}: {self.token}"
