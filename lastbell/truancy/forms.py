import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from lastbell.plans.forms import DateInput, TimeInput
from lastbell.truancy.models import (
    COUNTABLE,
    MAX_LEVELS,
    Conference,
    LetterBatch,
    Referral,
    TruancyPolicy,
    levels_problem,
)  # fmt: skip

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


# --- issuing and following up letters -------------------------------------------------------

TIME_ERRORS = {"required": "Give a time.", "invalid": "Enter a time such as 8:30 AM."}


def _ids(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


class IssueForm(forms.Form):
    """The confirmation step of issuing: how the letters go out, and what letter 2 (the
    conference) and letter 3 (the board) need. The previewed students come as their ids."""

    students = forms.CharField(widget=forms.HiddenInput)
    level = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=MAX_LEVELS)
    delivery = forms.ChoiceField(
        label="How the letters go out", widget=forms.RadioSelect,
        choices=LetterBatch.Delivery.choices, initial=LetterBatch.Delivery.PRINT,
        error_messages={"required": "Choose how the letters go out."},
    )  # fmt: skip

    def __init__(self, *args, level: int, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.level_number, self.today = level, today
        if level == 2:
            self.fields["conference_place"] = forms.CharField(
                label="Where the conferences are", max_length=200,
                initial="the school's main office",
                error_messages={"required": "Say where the conferences are, such as “the main "
                                            "office”."},
            )  # fmt: skip
            self.fields["conference_day"] = forms.DateField(
                label="First conference day", required=False, widget=DateInput(),
                help_text="Leave empty to ask each family to call and choose a time.",
                error_messages=DATE_ERRORS,
            )  # fmt: skip
            self.fields["conference_start"] = forms.TimeField(
                label="From", initial=dt.time(8, 0), widget=TimeInput(),
                error_messages=TIME_ERRORS)  # fmt: skip
            self.fields["conference_until"] = forms.TimeField(
                label="Until", initial=dt.time(15, 0), widget=TimeInput(),
                error_messages=TIME_ERRORS)  # fmt: skip
            self.fields["conference_minutes"] = forms.IntegerField(
                label="Minutes each", initial=30, min_value=10, max_value=240,
                error_messages={"required": "Give the minutes each conference takes.",
                                "invalid": "Give a whole number of minutes, such as 30.",
                                "min_value": "Give 10 minutes or more.",
                                "max_value": "Give at most 240 minutes."},
            )  # fmt: skip
        elif level >= 3:
            self.fields["board_name"] = forms.CharField(
                label="Attendance review board", max_length=200,
                initial="the School Attendance Review Board (SARB)",
                error_messages={"required": "Name the board the students are referred to."},
            )  # fmt: skip
            self.fields["board_day"] = forms.DateField(
                label="Meeting date", required=False, widget=DateInput(),
                help_text="Leave empty if the board writes to families itself.",
                error_messages=DATE_ERRORS)  # fmt: skip
            self.fields["board_time"] = forms.TimeField(
                label="Meeting time", required=False, widget=TimeInput(),
                error_messages=TIME_ERRORS)  # fmt: skip
            self.fields["board_place"] = forms.CharField(label="Meeting place", required=False,
                                                         max_length=200)  # fmt: skip
            self.fields["board_phone"] = forms.CharField(
                label="Phone for questions", required=False, max_length=40
            )

    def clean_students(self):
        ids = _ids(self.cleaned_data["students"])
        if not ids:
            raise ValidationError("Nobody was on the list. Go back to the list and start again.")
        return ids

    def clean(self):
        data = super().clean()
        if self.level_number == 2 and data.get("conference_day"):
            if data["conference_day"] < self.today:
                self.add_error("conference_day", "The first conference day is in the past.")
            start, until = data.get("conference_start"), data.get("conference_until")
            if start and until and until <= start:
                self.add_error("conference_until", "The last time must be after the first.")
        if self.level_number >= 3:
            if data.get("board_time") and not data.get("board_day"):
                self.add_error("board_day", "Give the meeting date too, or leave both empty.")
            if data.get("board_day") and data["board_day"] < self.today:
                self.add_error("board_day", "The meeting date is in the past.")
        return data

    def details(self) -> dict:
        """What the run records about its letters (LetterBatch.details)."""
        data = self.cleaned_data
        if self.level_number == 2:
            day = data.get("conference_day")
            return {"conference": {
                "place": data["conference_place"].strip(),
                "first_day": day.isoformat() if day else "",
                "start": data["conference_start"].strftime("%H:%M"),
                "until": data["conference_until"].strftime("%H:%M"),
                "minutes": data["conference_minutes"],
            }}  # fmt: skip
        if self.level_number >= 3:
            day, time = data.get("board_day"), data.get("board_time")
            return {"board": {
                "name": data["board_name"].strip(), "place": data.get("board_place", "").strip(),
                "date": day.isoformat() if day else "", "time": time.strftime("%H:%M") if time
                else "", "phone": data.get("board_phone", "").strip(),
            }}  # fmt: skip
        return {}


class VoidForm(forms.Form):
    reason = forms.CharField(
        label="Why is this letter voided?", max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept on record with the letter, such as “the absences were excused by a "
                  "doctor's note”.",
        error_messages={"required": "Say why the letter is voided, for the record."},
    )  # fmt: skip


def _moment(day, time, tz):
    return dt.datetime.combine(day, time, tzinfo=tz) if day and time else None


class ConferenceForm(forms.Form):
    day = forms.DateField(label="Date", required=False, widget=DateInput(),
                          error_messages=DATE_ERRORS)  # fmt: skip
    time = forms.TimeField(label="Time", required=False, widget=TimeInput(),
                           error_messages=TIME_ERRORS)  # fmt: skip
    place = forms.CharField(label="Place", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", choices=Conference.Status.choices)
    notes = forms.CharField(label="Notes", required=False, max_length=5000,
                            widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip

    def __init__(self, *args, tz, **kwargs):
        self.tz = tz
        super().__init__(*args, **kwargs)

    @classmethod
    def for_conference(cls, conference, *, tz, data=None):
        when = conference.scheduled_at.astimezone(tz) if conference and \
            conference.scheduled_at else None  # fmt: skip
        initial = {"day": when.date() if when else None, "time": when.time() if when else None,
                   "place": conference.place if conference else "",
                   "status": conference.status if conference else Conference.Status.SCHEDULED,
                   "notes": conference.notes if conference else ""}  # fmt: skip
        return cls(data, initial=initial, tz=tz)

    def clean(self):
        data = super().clean()
        if bool(data.get("day")) != bool(data.get("time")):
            raise ValidationError("Give both the date and the time, or leave both empty.")
        if data.get("status") == Conference.Status.HELD and not data.get("day"):
            self.add_error("day", "Give the date and time the conference was held.")
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {"scheduled_at": _moment(data["day"], data["time"], self.tz),
                "place": data["place"].strip(), "status": data["status"],
                "notes": data["notes"].strip()}  # fmt: skip


class ReferralForm(forms.Form):
    board = forms.CharField(label="Board", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", choices=Referral.Status.choices)
    day = forms.DateField(label="Hearing date", required=False, widget=DateInput(),
                          error_messages=DATE_ERRORS)  # fmt: skip
    time = forms.TimeField(label="Hearing time", required=False, widget=TimeInput(),
                           error_messages=TIME_ERRORS)  # fmt: skip
    outcome = forms.CharField(label="Outcome", required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="What the board decided, such as “attendance "
                                        "agreement signed”.")  # fmt: skip

    def __init__(self, *args, tz, **kwargs):
        self.tz = tz
        super().__init__(*args, **kwargs)

    @classmethod
    def for_referral(cls, referral, *, tz, data=None):
        when = referral.hearing_at.astimezone(tz) if referral and referral.hearing_at else None
        initial = {"board": referral.board if referral else "",
                   "status": referral.status if referral else Referral.Status.REFERRED,
                   "day": when.date() if when else None, "time": when.time() if when else None,
                   "outcome": referral.outcome if referral else ""}  # fmt: skip
        return cls(data, initial=initial, tz=tz)

    def clean(self):
        data = super().clean()
        if bool(data.get("day")) != bool(data.get("time")):
            raise ValidationError("Give both the hearing date and time, or leave both empty.")
        if data.get("status") in (Referral.Status.HEARD, Referral.Status.CLOSED) and \
                not data.get("outcome", "").strip():  # fmt: skip
            self.add_error(
                "outcome",
                f"Say what came of it before marking it “{Referral.Status(data['status']).label}”.",
            )
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {"board": data["board"].strip(), "status": data["status"],
                "hearing_at": _moment(data["day"], data["time"], self.tz),
                "outcome": data["outcome"].strip()}  # fmt: skip


class TemplateForm(forms.Form):
    subject = forms.CharField(label="Email subject", max_length=200,
                              error_messages={"required": "Give the email subject."})  # fmt: skip
    body = forms.CharField(
        label="Letter (HTML with merge fields)", max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "true"}),
        error_messages={"required": "Write the letter.",
                        "max_length": "The letter is longer than 50,000 characters."},
    )  # fmt: skip
