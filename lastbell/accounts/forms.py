from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": "That email and password don't match an account. Check both and try "
        "again, or ask your school office to reset your password.",
        "inactive": "This account has been turned off. Ask your district office.",
    }
