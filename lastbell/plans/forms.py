import datetime as dt

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lastbell.plans import weekdays
from lastbell.plans.board import TYPE_LABELS, TYPE_ORDER
from lastbell.plans.models import SETTABLE_TYPES, DefaultDay, Program
from lastbell.plans.services import PlanSpec
from lastbell.schools.models import WEEKDAY_NAMES

SCHOOL_WEEKDAYS = [(str(day), WEEKDAY_NAMES[day]) for day in range(5)]
ALL_WEEKDAYS = [(str(day), WEEKDAY_NAMES[day]) for day in range(7)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class PlanForm(forms.Form):
    """How a student gets home: the fields shared by defaults and changes."""

    plan_type = forms.ChoiceField(
        label=_("How home"), choices=[("", _("Choose…")), *SETTABLE_TYPES],
        error_messages={"required": _("Choose how the student gets home."),
                        "invalid_choice": _("Choose how the student gets home from the list.")},
    )  # fmt: skip
    bus_route = forms.ModelChoiceField(
        label=_("Bus route"), queryset=None, required=False, empty_label=_("Choose a bus…"),
        error_messages={"invalid_choice": _("Choose a bus route from this school's list.")},
    )  # fmt: skip
    pickup_guardian = forms.ModelChoiceField(
        label=_("Picked up by (guardian)"), queryset=None, required=False,
        empty_label=_("Someone else…"),
        error_messages={"invalid_choice": _("Choose one of this student's guardians.")},
    )  # fmt: skip
    pickup_name = forms.CharField(label=_("or another adult"), max_length=200, required=False)
    dismiss_at = forms.TimeField(
        label=_("Dismissal time"), required=False, widget=TimeInput(),
        error_messages={"invalid": _("Enter a time such as 1:30 PM.")},
    )  # fmt: skip
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, school, student=None, optional=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.school = school
        self.fields["bus_route"].queryset = school.bus_routes.filter(active=True)
        guardians = student.guardians.all() if student is not None else []
        self.fields["pickup_guardian"].queryset = (
            student.guardians.all() if student is not None else school.district.guardians.none()
        )
        if not guardians:
            del self.fields["pickup_guardian"]
            self.fields["pickup_name"].label = gettext("Picked up by")
        # The adults on the pickup list are offered as they type (a datalist: no script).
        self.adult_names = []
        if student is not None:
            self.adult_names = [
                f"{first} {last}"
                for first, last in student.authorized_adults.active().values_list(
                    "first_name", "last_name"
                )
            ]
        if self.adult_names:
            self.adults_list_id = f"adults-{self.prefix or 'plan'}"
            self.fields["pickup_name"].widget.attrs["list"] = self.adults_list_id
        if optional:
            self.fields["plan_type"].required = False
            self.fields["plan_type"].choices = [("", gettext("No plan this day")), *SETTABLE_TYPES]

    def clean(self):
        data = super().clean()
        if not data.get("plan_type"):
            return data
        # The model knows what a complete plan is; the form only reports it per field.
        day = DefaultDay(
            plan_type=data["plan_type"],
            bus_route=data.get("bus_route"),
            pickup_guardian=data.get("pickup_guardian"),
            pickup_name=data.get("pickup_name", ""),
            dismiss_at=data.get("dismiss_at"),
            note=data.get("note", ""),
        )
        for field, message in day.plan_errors(self.school).items():
            self.add_error(field if field in self.fields else None, message)
        return data

    def spec(self) -> PlanSpec | None:
        data = self.cleaned_data
        if not data.get("plan_type"):
            return None
        return PlanSpec(
            plan_type=data["plan_type"],
            bus_route=data.get("bus_route"),
            pickup_guardian=data.get("pickup_guardian"),
            pickup_name=data.get("pickup_name", ""),
            dismiss_at=data.get("dismiss_at"),
            note=data.get("note", ""),
        )


class DefaultStartForm(forms.Form):
    PATTERNS = [
        ("same", _("The same plan every school day")),
        ("by_day", _("Different by weekday")),
    ]
    pattern = forms.ChoiceField(
        label=_("Plan"), choices=PATTERNS, widget=forms.RadioSelect, initial="same"
    )
    starts_on = forms.DateField(
        label=_("Starts on"), widget=DateInput(),
        error_messages={"required": _("Give the first day of the new default."),
                        "invalid": _("Enter a date such as 2026-11-30.")},
    )  # fmt: skip


class ChangeForm(PlanForm):
    starts_on = forms.DateField(
        label=_("From"), widget=DateInput(),
        error_messages={"required": _("Give the first day of the change."),
                        "invalid": _("Enter a date such as 2026-11-30.")},
    )  # fmt: skip
    ends_on = forms.DateField(
        label=_("Until (leave empty for one day)"), required=False, widget=DateInput(),
        error_messages={"invalid": _("Enter a date such as 2026-11-30.")},
    )  # fmt: skip
    weekdays = forms.MultipleChoiceField(
        label=_("Only on these weekdays (leave all unticked for every day)"),
        choices=SCHOOL_WEEKDAYS, required=False, widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    field_order = ["starts_on", "ends_on", "weekdays", "plan_type"]

    def weekday_mask(self) -> int:
        chosen = self.cleaned_data.get("weekdays")
        return weekdays.mask_of(chosen) if chosen else weekdays.ALL_DAYS


class ProgramForm(forms.ModelForm):
    meets_on = forms.MultipleChoiceField(
        label="Meets on", choices=ALL_WEEKDAYS, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose the days the program meets."},
    )  # fmt: skip

    class Meta:
        model = Program
        fields = ["name", "kind", "starts_on", "ends_on", "end_time", "capacity", "location"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput(), "end_time": TimeInput()}
        labels = {"end_time": "Ends at", "capacity": "Capacity (empty: no limit)"}
        error_messages = {
            "name": {"required": "Give the program a name."},
            "starts_on": {"required": "Give the program's first day.",
                          "invalid": "Enter a date such as 2026-11-30."},
            "ends_on": {"required": "Give the program's last day.",
                        "invalid": "Enter a date such as 2026-11-30."},
            "end_time": {"required": "Give the time the program ends.",
                         "invalid": "Enter a time such as 5:30 PM."},
        }  # fmt: skip

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.school = school
        if self.instance.pk:
            self.initial["meets_on"] = [str(d) for d in weekdays.days_of(self.instance.weekdays)]
        else:
            self.initial.setdefault("meets_on", [str(d) for d in range(5)])

    def clean(self):
        data = super().clean()
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", "The last day is before the first day.")
        if data.get("capacity") == 0:
            self.add_error("capacity", "Capacity must be at least 1; leave it empty for no limit.")
        self._keep_past_days(data)
        name = data.get("name")
        if name and (
            Program.objects.filter(school=self.instance.school, name__iexact=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("name", "This school already has a program with that name.")
        if data.get("meets_on"):
            self.instance.weekdays = weekdays.mask_of(data["meets_on"])
        return data

    def _keep_past_days(self, data):
        """A program that has met keeps its past days: no edit may change them."""
        if self.instance.pk is None:
            return
        saved = Program.objects.get(pk=self.instance.pk)
        today = saved.school.today()
        if saved.starts_on >= today:
            return
        again = "To change this for the future, end the program and create a new one."
        if data.get("starts_on") and data["starts_on"] != saved.starts_on:
            self.add_error("starts_on", f"This program has already started. {again}")
        if data.get("meets_on") and weekdays.mask_of(data["meets_on"]) != saved.weekdays:
            self.add_error("meets_on", f"This program has already met on these days. {again}")
        if data.get("ends_on") and data["ends_on"] < today - dt.timedelta(days=1):
            self.add_error(
                "ends_on", "A program can end yesterday at the earliest; past days keep their plan."
            )

    def validate_unique(self):
        # Uniqueness is checked in clean() with a message the office understands.
        pass


class EnrollForm(forms.Form):
    student = forms.ModelChoiceField(
        queryset=None, empty_label="Choose a student…",
        error_messages={"required": "Choose a student to enroll.",
                        "invalid_choice": "Choose a student of this school from the list."},
    )  # fmt: skip
    days = forms.MultipleChoiceField(
        label="Attends on", choices=ALL_WEEKDAYS, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one day the student attends."},
    )  # fmt: skip
    starts_on = forms.DateField(
        label="From", widget=DateInput(),
        error_messages={"required": "Give the first day.",
                        "invalid": "Enter a date such as 2026-11-30."},
    )  # fmt: skip
    ends_on = forms.DateField(label="Until (optional)", required=False, widget=DateInput())

    def __init__(self, *args, program, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = program.school.students.active_on(today).order_by(
            "last_name", "first_name"
        )
        self.fields["student"].label_from_instance = lambda s: (
            f"{s.last_name}, {s.first_name} — grade {s.grade} ({s.sis_id})"
        )
        # Every weekday is a valid value, so a day the program does not meet gets the
        # service's sentence naming its days; only the program's days are offered.
        self.fields["days"].widget.choices = [
            (str(d), WEEKDAY_NAMES[d]) for d in weekdays.days_of(program.weekdays)
        ]
        self.initial.setdefault("starts_on", max(today, program.starts_on))
        self.initial.setdefault("days", [str(d) for d in weekdays.days_of(program.weekdays)])


class BoardFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False)
    grade = forms.ChoiceField(label="Grade", required=False)
    homeroom = forms.ChoiceField(label="Homeroom", required=False)
    type = forms.ChoiceField(label="Plan", required=False)

    def __init__(self, *args, grades, homerooms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grade"].choices = [("", "All grades")] + [(g, g) for g in grades]
        self.fields["homeroom"].choices = [("", "All homerooms")] + [
            (str(i), name) for i, name in homerooms
        ]
        self.fields["type"].choices = (
            [("", "All plans"), ("missing", "No plan yet")]
            + [(t.value, TYPE_LABELS[t]) for t in TYPE_ORDER]
        )  # fmt: skip

    def apply(self, rows):
        if not self.is_valid():
            return rows
        data = self.cleaned_data
        if q := data["q"].strip().lower():
            rows = [
                r for r in rows
                if q in r.name.lower() or q in f"{r.last_name}, {r.first_name}".lower()
                or q == r.sis_id.lower() or r.sis_id.lower().startswith(q)
            ]  # fmt: skip
        if data["grade"]:
            rows = [r for r in rows if r.grade == data["grade"]]
        if data["homeroom"]:
            rows = [r for r in rows if str(r.homeroom_id) == data["homeroom"]]
        if data["type"] == "missing":
            rows = [r for r in rows if r.missing]
        elif data["type"]:
            rows = [r for r in rows if r.plan_type == data["type"]]
        return rows


def default_forms(data, *, school, student, current, starts_on: dt.date):
    """The default editor: one plan for every school day, or one per weekday.

    Returns the start form, the every-day plan form and (weekday, name, form) per weekday,
    filled from `current` (the version in effect) when there is one.
    """
    start = DefaultStartForm(data, initial={"starts_on": starts_on, "pattern": "same"})
    every = PlanForm(
        data, prefix="all", school=school, student=student, initial=_initial_plan(current, 0)
    )
    by_day = [
        (day, WEEKDAY_NAMES[day],
         PlanForm(data, prefix=f"d{day}", school=school, student=student, optional=True,
                  initial=_initial_plan(current, day)))
        for day in range(5)
    ]  # fmt: skip
    if current is not None and len({_plan_key(d) for d in current.days.all()}) > 1:
        start.initial["pattern"] = "by_day"
    return start, every, by_day


def default_days(start, every, by_day) -> dict | None:
    """The weekday plans the editor was given, or None while a form has errors."""
    if not start.is_valid():
        return None
    if start.cleaned_data["pattern"] == "same":
        return dict.fromkeys(range(5), every.spec()) if every.is_valid() else None
    if not all(form.is_valid() for _, _, form in by_day):
        return None
    return {day: form.spec() for day, _, form in by_day if form.spec() is not None}


def _plan_key(day):
    return (day.plan_type, day.bus_route_id, day.pickup_guardian_id, day.pickup_name,
            day.dismiss_at, day.note)  # fmt: skip


def _initial_plan(current, weekday):
    if current is None:
        return {}
    for day in current.days.all():
        if day.weekday == weekday:
            return {
                "plan_type": day.plan_type,
                "bus_route": day.bus_route_id,
                "pickup_guardian": day.pickup_guardian_id,
                "pickup_name": day.pickup_name,
                "dismiss_at": day.dismiss_at,
                "note": day.note,
            }
    return {}
