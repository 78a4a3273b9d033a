"""The forms of the staff dismissal screens (views.py): they check what was typed and find
the car tag or the person it names; the rules themselves are in services.py."""

from urllib.parse import parse_qs, urlsplit

from django import forms

from lastbell.dismissal.models import CarTag, CustodyEvent, Verification
from lastbell.people.models import Guardian

# How staff at the curb checked who the adult is (the guardian's own app is not a choice).
STAFF_VERIFICATIONS = [
    (Verification.CAR_TAG, "Car tag"),
    (Verification.QR, "QR code"),
    (Verification.PHOTO_ID, "Photo ID"),
    (Verification.KNOWN, "Known to staff"),
]


class _CheckIn(forms.Form):
    door = forms.CharField(label="Door", max_length=50, required=False)

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.school = school


class TagCheckInForm(_CheckIn):
    number = forms.IntegerField(
        label="Car tag number", min_value=1, max_value=999_999,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": "Type the number on the car's hang tag.",
                        "invalid": "A car tag number is digits only."},
    )  # fmt: skip
    adult_name = forms.CharField(label="Who is picking up (optional)", max_length=200,
                                 required=False)  # fmt: skip

    def clean_number(self):
        number = self.cleaned_data["number"]
        self.tag = CarTag.objects.filter(school=self.school, number=number).first()
        if self.tag is None:
            raise forms.ValidationError(
                f"No car tag {number} at this school. Check the number, or search the "
                "student's name below."
            )
        return number


def tag_code(scanned: str) -> str:
    """The tag's code in what a QR code said: the code itself, or an address that ends with
    it or carries it as `code` (a tag printed with a link)."""
    text = scanned.strip()
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") or text.startswith("/"):
        query = parse_qs(parts.query).get("code")
        if query:
            return query[0].strip()
        segments = [s for s in parts.path.split("/") if s]
        return segments[-1] if segments else ""
    return text


class QRCheckInForm(_CheckIn):
    code = forms.CharField(
        label="QR code", max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "off",
                                      "spellcheck": "false"}),
        help_text="Scan with the camera, or with a handheld scanner into this box.",
        error_messages={"required": "Scan the family's QR code first."},
    )  # fmt: skip

    def clean_code(self):
        code = tag_code(self.cleaned_data["code"])
        self.tag = CarTag.objects.filter(school=self.school, code=code).first() if code else None
        if self.tag is None:
            raise forms.ValidationError(
                "That QR code is not one of this school's car tags. Type the tag number or "
                "search the student's name instead."
            )
        return code


class NameCheckInForm(_CheckIn):
    """A button of the name search: a guardian, or the family's car tag."""

    guardian = forms.IntegerField(required=False)
    tag = forms.IntegerField(required=False)

    def clean(self):
        data = super().clean()
        self.found_guardian = self.found_tag = None
        if data.get("guardian"):
            self.found_guardian = Guardian.objects.filter(
                pk=data["guardian"], links__student__school=self.school
            ).first()
        elif data.get("tag"):
            self.found_tag = CarTag.objects.filter(school=self.school, pk=data["tag"]).first()
        if self.found_guardian is None and self.found_tag is None:
            raise forms.ValidationError("Search again and choose who is here.")
        return data


class ReleaseForm(forms.Form):
    """Whom to release the student to and how staff knew them. `people` are the
    pickup_people of the student: a choice is "guardian:<id>" or "adult:<id>"."""

    person = forms.ChoiceField(
        label="Released to", widget=forms.RadioSelect,
        error_messages={"required": "Choose the adult who is taking the student.",
                        "invalid_choice": "Choose one of the adults on file."},
    )  # fmt: skip
    verification = forms.ChoiceField(
        label="How did you check who they are?", widget=forms.RadioSelect,
        choices=STAFF_VERIFICATIONS,
        error_messages={"required": "Say how you checked who the adult is."},
    )  # fmt: skip
    note = forms.CharField(label="Note (optional)", max_length=500, required=False)
    # Emergency reunification only.
    reunifier = forms.CharField(label="Staff member who brought the student", max_length=200,
                                required=False)  # fmt: skip
    comfortable = forms.BooleanField(
        label="The student says they are comfortable leaving with this adult", required=False
    )

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [(choice_of(p), p.name) for p in people]

    def adult(self) -> tuple[str, int]:
        kind, _sep, record_id = self.cleaned_data["person"].partition(":")
        return kind, int(record_id)


def choice_of(person) -> str:
    kind = CustodyEvent.To.GUARDIAN if person.is_guardian else CustodyEvent.To.ADULT
    return f"{kind}:{person.record.pk}"


class UndoForm(forms.Form):
    reason = forms.CharField(
        label="Why undo it?", max_length=500,
        error_messages={"required": "Say why, for the record (for example, “wrong tag "
                                    "number”)."},
    )  # fmt: skip
