from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": _(
            "That email and password don't match an account. Check both and try again, or ask "
            "your school office to reset your password."
        ),
        "inactive": _("This account has been turned off. Ask your district office."),
    }


class CodeForm(forms.Form):
    """The six digits an authenticator app shows."""

    code = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={
            "invalid": _("Enter the 6 digits your authenticator app shows, with no letters."),
            "required": _("Enter the 6 digits your authenticator app shows."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()


class RequireTwoStepForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Staff must sign in with a code from an authenticator app"), required=False
    )
