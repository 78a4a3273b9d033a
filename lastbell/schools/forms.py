from django import forms

from lastbell.plans.forms import DateInput, TimeInput
from lastbell.schools.models import BusRoute, CalendarDay, School, SchoolTerm

TIME_ERRORS = {"invalid": "Enter a time such as 3:05 PM."}
DATE_ERRORS = {"required": "Give a date.", "invalid": "Enter a date such as 2026-11-30."}


class SchoolSettingsForm(forms.ModelForm):
    class Meta:
        model = School
        fields = [
            "name", "code", "office_phone", "timezone", "dismissal_mon", "dismissal_tue",
            "dismissal_wed", "dismissal_thu", "dismissal_fri", "late_grace_minutes",
            "checkin_opens_minutes", "same_day_cutoff", "parent_access", "parent_editing",
        ]  # fmt: skip
        widgets = {
            **{f: TimeInput() for f in School.DISMISSAL_FIELDS},
            "same_day_cutoff": TimeInput(),
        }
        labels = {
            "late_grace_minutes": "Minutes after dismissal before a pickup is late",
            "checkin_opens_minutes": "Families can check in this many minutes before dismissal",
            "same_day_cutoff": "Parents can change today's plan until",
            "parent_access": "Parents can see their children's plans",
            "parent_editing": "Parents can change plans",
        }
        error_messages = {
            "name": {"required": "Give the school a name."},
            **{f: TIME_ERRORS for f in School.DISMISSAL_FIELDS},
            "same_day_cutoff": {"required": "Give the same-day cutoff time.", **TIME_ERRORS},
        }

    def clean(self):
        data = super().clean()
        name = data.get("name")
        if name and (
            School.objects.filter(district=self.instance.district_id, name__iexact=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("name", "Another school of the district already has that name.")
        if data.get("parent_editing") and not data.get("parent_access"):
            self.add_error(
                "parent_editing", "Parents can only change plans if they can see them too."
            )
        if not any(data.get(f) for f in School.DISMISSAL_FIELDS[:5]):
            self.add_error("dismissal_mon", "Give the dismissal time of at least one weekday.")
        return data


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "dismissal_time", "follows_weekday", "note"]
        widgets = {"date": DateInput(), "dismissal_time": TimeInput()}
        labels = {
            "dismissal_time": "Dismissal time (early release)",
            "follows_weekday": "Plans as on (extra school day on a weekend)",
        }
        error_messages = {"date": DATE_ERRORS, "dismissal_time": TIME_ERRORS}

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.school = school

    def clean(self):
        data = super().clean()
        if data.get("kind") == CalendarDay.Kind.EARLY_RELEASE and not data.get("dismissal_time"):
            self.add_error("dismissal_time", "Give the dismissal time of the early-release day.")
        if data.get("kind") != CalendarDay.Kind.EARLY_RELEASE:
            data["dismissal_time"] = None
            self.instance.dismissal_time = None
        date = data.get("date")
        if date and date < self.instance.school.today():
            self.add_error("date", "Past days keep the calendar they had; choose today or later.")
        if data.get("kind") == CalendarDay.Kind.EXTRA_SCHOOL_DAY and date and date.weekday() >= 5:
            if data.get("follows_weekday") is None:
                self.add_error(
                    "follows_weekday",
                    "Choose which weekday's plans this weekend school day follows.",
                )
        elif data.get("kind") != CalendarDay.Kind.EXTRA_SCHOOL_DAY:
            data["follows_weekday"] = None
            self.instance.follows_weekday = None
        return data

    def validate_unique(self):
        # Saving a date that already has an entry replaces it (see calendar_day_save).
        pass


class TermForm(forms.ModelForm):
    class Meta:
        model = SchoolTerm
        fields = ["name", "starts_on", "ends_on"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}
        error_messages = {
            "name": {"required": "Name the term, e.g. 2026–27."},
            "starts_on": DATE_ERRORS,
            "ends_on": DATE_ERRORS,
        }

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.school = school

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", "The last day is before the first day.")
        return data


class BusRouteForm(forms.ModelForm):
    class Meta:
        model = BusRoute
        fields = ["number", "name"]
        error_messages = {"number": {"required": "Give the bus number."}}

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.school = school

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        clash = BusRoute.objects.filter(school=self.instance.school, number__iexact=number)
        if clash.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"Bus {number} already exists at this school.")
        return number

    def validate_unique(self):
        pass
