import datetime as dt

from django import forms

from lastbell.attendance.codes import code_key
from lastbell.attendance.models import Category
from lastbell.plans.forms import DateInput, TimeInput


class AttendanceForm(forms.Form):
    """One day's attendance of a student, as the office sets it."""

    date = forms.DateField(
        widget=DateInput(),
        error_messages={"required": "Give the day.", "invalid": "Enter a date such as 2026-11-18."},
    )
    category = forms.ChoiceField(label="Attendance", choices=Category.choices)
    minutes = forms.IntegerField(
        label="Minutes late or missed", required=False, min_value=0, max_value=1440,
        help_text="For a tardy: how late. For an early departure: left empty, the minutes "
        "until the usual dismissal.",
        error_messages={"invalid": "Give a whole number of minutes, such as 45.",
                        "min_value": "Give 0 minutes or more.",
                        "max_value": "Give at most 1440 minutes (one day)."},
    )  # fmt: skip
    departs_at = forms.TimeField(
        label="Leaves at", required=False, widget=TimeInput(),
        error_messages={"invalid": "Enter a time such as 1:15 PM."},
    )  # fmt: skip
    reason = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, student, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.student, self.today = student, today

    def clean(self):
        data = super().clean()
        date, category = data.get("date"), data.get("category")
        if date is None or category is None:
            return data
        kind, _ = Category.split(category)
        if date < self.student.enrolled_on:
            self.add_error("date", f"{self.student.full_name} was not enrolled yet on that day "
                           f"(enrolled {self.student.enrolled_on:%B %-d, %Y}).")  # fmt: skip
        elif self.student.withdrawn_on and date > self.student.withdrawn_on:
            self.add_error("date", f"{self.student.full_name} had left the school by then.")
        if kind == "tardy":
            if date > self.today:
                self.add_error("date", "A tardy can only be recorded once it has happened.")
            if data.get("minutes") is None and "minutes" not in self.errors:
                self.add_error("minutes", "Give how many minutes late the student was.")
        missing_time = data.get("departs_at") is None and "departs_at" not in self.errors
        if kind == "early_departure" and missing_time:
            self.add_error("departs_at", "Give the time the student leaves.")
        return data


class CodeForm(forms.Form):
    code = forms.CharField(max_length=300, required=False)
    category = forms.ChoiceField(choices=[("", "—"), *Category.choices], required=False)

    def clean(self):
        data = super().clean()
        code, category = (data.get("code") or "").strip(), data.get("category")
        if code and not category:
            self.add_error("category", f"Choose what “{code}” means.")
        elif category and not code:
            self.add_error("code", "Give the code, as the attendance system writes it.")
        return data


class BaseCodeFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = {}
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            code = (form.cleaned_data.get("code") or "").strip()
            if not code:
                continue
            key = code_key(code)
            if key in seen:
                raise forms.ValidationError(
                    f"The code “{code}” is in the list twice (also as “{seen[key]}”): keep one."
                )
            seen[key] = code

    def codes(self) -> list[tuple[str, str]]:
        return [
            (form.cleaned_data["code"].strip(), form.cleaned_data["category"])
            for form in self.forms
            if form.cleaned_data.get("code")
            and not (self.can_delete and self._should_delete_form(form))
        ]


CodeFormSet = forms.formset_factory(CodeForm, formset=BaseCodeFormSet, extra=3, can_delete=True)
