import re

from django import forms
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _


def phone_digits(value: str) -> str:
    """A US phone number as its last ten digits, which is how we match mobiles on file."""
    digits = re.sub(r"\D", "", value or "")
    return digits[-10:] if len(digits) >= 10 else ""


class LinkRequestForm(forms.Form):
    contact = forms.CharField(
        label=_("Your email address or mobile number"), max_length=254,
        error_messages={"required": _("Enter the email address or mobile number the school "
                                      "has for you.")},
    )  # fmt: skip

    def clean_contact(self):
        value = self.cleaned_data["contact"].strip()
        if "@" in value:
            try:
                validate_email(value)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("That email address looks incomplete, such as name@example.com.")
                ) from None
            return value
        if not phone_digits(value):
            raise forms.ValidationError(
                _("Enter an email address, or a mobile number with its area code.")
            )
        return value


class MissingMessageForm(forms.Form):
    """Staff: which students' guardians to write to about a missing plan."""

    students = forms.TypedMultipleChoiceField(
        coerce=int, required=True, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one student.",
                        "invalid_choice": "A ticked student has a plan now or is not in this "
                                          "list any more; reload the page."},
    )  # fmt: skip

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["students"].choices = [(row.student_id, row.name) for row in rows]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language for pages and messages"),
        choices=[("en", "English"), ("es", "Español")],
        error_messages={"invalid_choice": _("Choose English or Spanish.")},
    )
