from django import forms
from django.core.exceptions import ValidationError

from lastbell.plans.forms import DateInput
from lastbell.truancy.models import COUNTABLE, MAX_LEVELS, TruancyPolicy, levels_problem

DATE_ERRORS = {"required": "Give a date.", "invalid": "Enter a date such as 2026-08-17."}


class PolicyForm(forms.Form):
    """A truancy policy: what counts, the school year, and up to MAX_LEVELS letters."""

    counts = forms.MultipleChoiceField(
        label="What counts toward truancy", choices=COUNTABLE,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one kind of attendance that counts."},
    )  # fmt: skip
    tardy_minutes = forms.IntegerField(
        label="Tardies and early departures count when longer than (minutes)",
        min_value=0, max_value=480,
        error_messages={
            "required": "Give the number of minutes (30 in California).",
            "invalid": "Give a whole number of minutes, such as 30.",
            "min_value": "Give 0 minutes or more.",
            "max_value": "Give at most 480 minutes (a whole school day).",
        },
    )  # fmt: skip
    year_starts_on = forms.DateField(label="School year starts", widget=DateInput(),
                                     error_messages=DATE_ERRORS)  # fmt: skip
    year_ends_on = forms.DateField(label="School year ends", widget=DateInput(),
                                   error_messages=DATE_ERRORS)  # fmt: skip

    def __init__(self, *args, policy: TruancyPolicy, **kwargs):
        initial = {
            "counts": list(policy.counts), "tardy_minutes": policy.tardy_minutes,
            "year_starts_on": policy.year_starts_on, "year_ends_on": policy.year_ends_on,
        }  # fmt: skip
        for number in range(1, MAX_LEVELS + 1):
            level = policy.levels[number - 1] if number <= len(policy.levels) else {}
            initial[f"threshold_{number}"] = level.get("threshold")
            initial[f"name_{number}"] = level.get("name", "")
        super().__init__(*args, initial=initial, **kwargs)
        for number in range(1, MAX_LEVELS + 1):
            self.fields[f"threshold_{number}"] = forms.IntegerField(
                label=f"Letter {number} is due at", required=False, min_value=1,
                max_value=365,
                error_messages={
                    "invalid": "Give a whole number, such as 3.",
                    "min_value": "Give a count of 1 or more.",
                    "max_value": "Give at most 365.",
                },
            )  # fmt: skip
            self.fields[f"name_{number}"] = forms.CharField(
                label=f"Letter {number} name", required=False, max_length=120
            )

    def level_rows(self):
        return [
            (number, self[f"threshold_{number}"], self[f"name_{number}"])
            for number in range(1, MAX_LEVELS + 1)
        ]

    def clean(self):
        data = super().clean()
        levels, ended = [], False
        for number in range(1, MAX_LEVELS + 1):
            threshold = data.get(f"threshold_{number}")
            name = (data.get(f"name_{number}") or "").strip()
            if threshold is None and not name:
                ended = True
                continue
            if ended:
                raise ValidationError(
                    f"Letter {number} follows an empty letter: fill in the letters in order, "
                    "from letter 1, without gaps."
                )
            if threshold is None:
                if f"threshold_{number}" not in self.errors:
                    self.add_error(f"threshold_{number}", "Give the count at which it is due.")
                return data
            levels.append({"threshold": threshold, "name": name})
        problem = levels_problem(levels)
        if problem:
            raise ValidationError(problem)
        data["levels"] = levels
        start, end = data.get("year_starts_on"), data.get("year_ends_on")
        if start and end:
            if end <= start:
                self.add_error("year_ends_on", "The school year must end after it starts.")
            elif (end - start).days > 366:
                self.add_error(
                    "year_ends_on", "A school year is at most one year long: check the end date."
                )
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("counts", "tardy_minutes", "levels",
                                              "year_starts_on", "year_ends_on")}  # fmt: skip
