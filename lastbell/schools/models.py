import datetime as dt
import zoneinfo

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

TIMEZONES = sorted((name, name) for name in zoneinfo.available_timezones() if "/" in name)
# Lazy, so each reader gets their own language (guardian forms show them); never compare
# them with plain text, use the weekday numbers.
WEEKDAY_NAMES = [
    gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"), gettext_lazy("Friday"), gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
]  # fmt: skip
WEEKDAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class District(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    timezone = models.CharField(max_length=64, choices=TIMEZONES, default="America/Los_Angeles")
    # Staff of the district sign in with a code from an authenticator app as well as their
    # password (accounts/signin.py); set by a district admin.
    require_two_factor = models.BooleanField("require two-step sign-in for staff", default=False)

    def __str__(self):
        return self.name


class School(models.Model):
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="schools")
    name = models.CharField(max_length=200)
    code = models.CharField("school code", max_length=64, blank=True)
    timezone = models.CharField(max_length=64, choices=TIMEZONES, default="America/Los_Angeles")
    office_phone = models.CharField(max_length=40, blank=True)
    tracker_enabled = models.BooleanField(default=False)
    parent_access = models.BooleanField(default=False)
    parent_editing = models.BooleanField(default=False)
    same_day_cutoff = models.TimeField(default=dt.time(13, 0))
    late_grace_minutes = models.PositiveSmallIntegerField(default=10)
    # Families can say "I'm here" from this many minutes before dismissal.
    checkin_opens_minutes = models.PositiveSmallIntegerField(default=30)
    # Dismissal time per weekday; empty on days the school does not normally meet.
    dismissal_mon = models.TimeField("Monday dismissal", null=True, blank=True)
    dismissal_tue = models.TimeField("Tuesday dismissal", null=True, blank=True)
    dismissal_wed = models.TimeField("Wednesday dismissal", null=True, blank=True)
    dismissal_thu = models.TimeField("Thursday dismissal", null=True, blank=True)
    dismissal_fri = models.TimeField("Friday dismissal", null=True, blank=True)
    dismissal_sat = models.TimeField("Saturday dismissal", null=True, blank=True)
    dismissal_sun = models.TimeField("Sunday dismissal", null=True, blank=True)

    DISMISSAL_FIELDS = [
        "dismissal_mon", "dismissal_tue", "dismissal_wed", "dismissal_thu",
        "dismissal_fri", "dismissal_sat", "dismissal_sun",
    ]  # fmt: skip

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="school_name_unique"),
        ]

    def __str__(self):
        return self.name

    @property
    def tz(self):
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> dt.date:
        """The date at the school, which is not the server's date near midnight."""
        return timezone.now().astimezone(self.tz).date()

    def regular_dismissal(self, weekday: int) -> dt.time | None:
        return getattr(self, self.DISMISSAL_FIELDS[weekday])

    def dismissal_time_on(self, date: dt.date) -> dt.time | None:
        """The day's dismissal: an early release's own time, a make-up day's followed weekday,
        else the weekday's."""
        day = self.calendar_days.filter(date=date).first()
        if day and day.kind == CalendarDay.Kind.EARLY_RELEASE and day.dismissal_time:
            return day.dismissal_time
        if day and day.follows_weekday is not None:
            return self.regular_dismissal(day.follows_weekday)
        if day and day.kind == CalendarDay.Kind.EXTRA_SCHOOL_DAY:
            return self.usual_dismissal(date)
        return self.regular_dismissal(date.weekday())

    def usual_dismissal(self, date: dt.date) -> dt.time | None:
        """The dismissal time a normal day like `date` would have."""
        regular = self.regular_dismissal(date.weekday())
        if regular:
            return regular
        return next((t for d in range(5) if (t := self.regular_dismissal(d))), None)

    def is_school_day(self, date: dt.date) -> bool:
        return SchoolCalendar.for_school(self, date, date).is_school_day(date)

    def cutoff_on(self, date: dt.date) -> dt.datetime:
        """When parents can no longer change `date`'s plan online (DESIGN.md §2 "Parents").

        The cutoff keeps its distance from dismissal: on an early-release day it moves as
        much earlier as dismissal does (cutoff 1:00 for a 3:00 dismissal is 10:30 on a 12:30
        early release), and it is never later than the day's dismissal.
        """
        cutoff = dt.datetime.combine(date, self.same_day_cutoff, tzinfo=self.tz)
        today, usual = self.dismissal_time_on(date), self.usual_dismissal(date)
        if today is None:
            return cutoff
        if usual and today < usual:
            cutoff -= dt.datetime.combine(date, usual) - dt.datetime.combine(date, today)
        return min(cutoff, dt.datetime.combine(date, today, tzinfo=self.tz))

    def first_open_date(self, now: dt.datetime | None = None) -> dt.date:
        """The first date parents may still change: today before the cutoff, else tomorrow."""
        now = (now or timezone.now()).astimezone(self.tz)
        today = now.date()
        return today if now < self.cutoff_on(today) else today + dt.timedelta(days=1)


class Homeroom(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="homerooms")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="homeroom_name_unique"),
        ]

    def __str__(self):
        return self.name


class SchoolTerm(models.Model):
    """The span of a school year (or term): weekdays in it are school days by default."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(max_length=100)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="term_dates_order"
            ),
        ]

    def __str__(self):
        return self.name


class CalendarDay(models.Model):
    """An exception to the term's ordinary weekdays."""

    class Kind(models.TextChoices):
        # Guardians read these in "No school: Holiday."
        HOLIDAY = "holiday", gettext_lazy("Holiday")
        CLOSURE = "closure", gettext_lazy("Closure")
        EARLY_RELEASE = "early_release", gettext_lazy("Early release")
        EXTRA_SCHOOL_DAY = "school_day", gettext_lazy("Extra school day")

    NO_SCHOOL = {Kind.HOLIDAY, Kind.CLOSURE}

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="calendar_days")
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    dismissal_time = models.TimeField(null=True, blank=True)
    # A make-up day on a weekend runs a weekday's plans ("Saturday follows Monday").
    follows_weekday = models.PositiveSmallIntegerField(
        "follows the plans of",
        null=True,
        blank=True,
        choices=[(day, WEEKDAY_NAMES[day]) for day in range(5)],
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["school", "date"], name="calendar_day_unique"),
        ]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()}"


class SchoolCalendar:
    """Which dates are school days at a school, for a span, from two queries."""

    def __init__(self, terms, days, open_weekdays=range(5)):
        self.terms = [(t.starts_on, t.ends_on) for t in terms]
        self.days = {d.date: d for d in days}
        self.open_weekdays = set(open_weekdays)

    @classmethod
    def for_school(cls, school, start: dt.date, end: dt.date) -> "SchoolCalendar":
        terms = school.terms.filter(starts_on__lte=end, ends_on__gte=start)
        days = school.calendar_days.filter(date__gte=start, date__lte=end)
        # A weekday without a dismissal time is not a school day (a four-day week).
        open_weekdays = {d for d in range(7) if school.regular_dismissal(d) is not None}
        return cls(list(terms), list(days), open_weekdays)

    def day(self, date: dt.date) -> CalendarDay | None:
        return self.days.get(date)

    def is_school_day(self, date: dt.date) -> bool:
        day = self.days.get(date)
        if day is not None:
            if day.kind in CalendarDay.NO_SCHOOL:
                return False
            if day.kind == CalendarDay.Kind.EXTRA_SCHOOL_DAY:
                return True
        in_term = any(start <= date <= end for start, end in self.terms)
        return in_term and date.weekday() in self.open_weekdays

    def plan_weekday(self, date: dt.date) -> int:
        """The weekday whose plans apply: its own, or the one a make-up day follows."""
        day = self.days.get(date)
        if day is not None and day.follows_weekday is not None:
            return day.follows_weekday
        return date.weekday()

    def why_not(self, date: dt.date) -> str:
        """A sentence for a day that is not a school day."""
        day = self.days.get(date)
        if day is not None and day.kind in CalendarDay.NO_SCHOOL:
            label = day.note or day.get_kind_display()
            return _("No school: %(label)s.") % {"label": label}
        if date.weekday() >= 5 and date.weekday() not in self.open_weekdays:
            return _("No school: weekend.")
        if date.weekday() not in self.open_weekdays:
            return _("No school: the school does not meet on %(weekday)ss.") % {
                "weekday": WEEKDAY_NAMES[date.weekday()]
            }
        return _("No school: this date is outside the school year.")


class BusRoute(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="bus_routes")
    number = models.CharField("bus number", max_length=32)
    name = models.CharField("route name", max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "number"], name="bus_route_unique"),
        ]

    def __str__(self):
        return f"Bus {self.number}" + (f" — {self.name}" if self.name else "")
