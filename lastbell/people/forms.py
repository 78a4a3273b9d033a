from django import forms
from django.utils.translation import gettext_lazy as _

from lastbell.people import files
from lastbell.people.models import RestrictionKind
from lastbell.people.services import MESSAGES, phone_error, restriction_dates_error
from lastbell.plans.forms import DateInput

PICTURE_TYPES = "image/jpeg,image/png,image/webp"


def _required(field: str) -> dict:
    return {
        "required": MESSAGES[field],
        "max_length": _("Keep this to %(limit_value)d characters or fewer."),
    }


class AdultForm(forms.Form):
    """An adult who may pick the student up. The service checks the rest (phone, photo)."""

    first_name = forms.CharField(
        label=_("First name"), max_length=100, error_messages=_required("first_name")
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=100, error_messages=_required("last_name")
    )
    relationship = forms.CharField(
        label=_("Relationship to the student"), max_length=50,
        help_text=_("For example grandmother, neighbor, aunt."),
        error_messages=_required("relationship"),
    )  # fmt: skip
    phone = forms.CharField(
        label=_("Phone"), max_length=40, error_messages=_required("phone"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )  # fmt: skip
    photo = forms.FileField(
        label=_("Photo (optional)"), required=False,
        help_text=_("A JPEG, PNG or WebP picture of the adult's face, up to 5 MB."),
        widget=forms.FileInput(attrs={"accept": PICTURE_TYPES}),
        error_messages={"empty": _("The photo file is empty. Choose the file again."),
                        "invalid": _("Choose the photo again; it did not arrive.")},
    )  # fmt: skip
    note = forms.CharField(label=_("Note for staff (optional)"), max_length=500, required=False)

    # The service checks these again; here they are reported with the other fields at once.
    def clean_phone(self):
        phone = " ".join(self.cleaned_data["phone"].split())
        if error := phone_error(phone):
            raise forms.ValidationError(error)
        return phone

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and (
            error := files.upload_error(
                photo, what="photo", allowed=files.PICTURES, max_bytes=files.PHOTO_MAX_BYTES
            )
        ):
            raise forms.ValidationError(error)
        return photo


class RestrictionForm(forms.Form):
    person_name = forms.CharField(
        label="Name of the person", max_length=200, error_messages=_required("person_name")
    )
    kind = forms.ChoiceField(
        label="The court order says", choices=[("", "Choose…"), *RestrictionKind.choices],
        error_messages={"required": MESSAGES["kind"], "invalid_choice": MESSAGES["kind"]},
    )  # fmt: skip
    person_description = forms.CharField(
        label="Description (optional)", max_length=500, required=False,
        help_text="What helps staff recognize the person, such as their car.",
    )  # fmt: skip
    court_order_reference = forms.CharField(
        label="Court order (case number or reference)", max_length=200,
        error_messages=_required("court_order_reference"),
    )  # fmt: skip
    court_order_file = forms.FileField(
        label="Copy of the court order (optional)", required=False,
        help_text="A PDF or a JPEG, PNG or WebP picture, up to 10 MB.",
        widget=forms.FileInput(attrs={"accept": "application/pdf," + PICTURE_TYPES}),
        error_messages={"empty": "The court order file is empty. Choose the file again.",
                        "invalid": "Choose the court order file again; it did not arrive."},
    )  # fmt: skip
    starts_on = forms.DateField(
        label="In effect from", widget=DateInput(),
        error_messages={"required": MESSAGES["starts_on"], "invalid": MESSAGES["date_invalid"]},
    )  # fmt: skip
    ends_on = forms.DateField(
        label="Until (leave empty if the order has no end date)", required=False,
        widget=DateInput(), error_messages={"invalid": MESSAGES["date_invalid"]},
    )  # fmt: skip

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_court_order_file(self):
        upload = self.cleaned_data.get("court_order_file")
        if upload and (
            error := files.upload_error(
                upload,
                what="court order",
                allowed=files.DOCUMENTS,
                max_bytes=files.COURT_ORDER_MAX_BYTES,
            )  # fmt: skip
        ):
            raise forms.ValidationError(error)
        return upload

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and (
            error := restriction_dates_error(data["starts_on"], data.get("ends_on"), self.today)
        ):
            self.add_error("ends_on", error)
        return data


class RestrictionEndForm(forms.Form):
    reason = forms.CharField(
        label="Why does the restriction end?", max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: a new court order of 2027-01-10 lifted it; entered by mistake.",
        error_messages=_required("reason"),
    )  # fmt: skip
