from django import forms
from django.utils.translation import gettext_lazy as _

from lastbell.privacy.models import RetentionPolicy


class RetentionForm(forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["dismissal_event_days", "message_body_days"]
        error_messages = {
            field: {
                "required": _("Give a number of days."),
                "invalid": _("Give a whole number of days, such as 365."),
                "min_value": _("Keep them at least %(limit_value)s days."),
                "max_value": _("Give at most %(limit_value)s days (ten years)."),
            }
            for field in fields
        }


class EraseForm(forms.Form):
    """The confirmation: the student id typed again, as on the student's page."""

    sis_id = forms.CharField(
        label=_("Type the student id to confirm"), max_length=64,
        error_messages={"required": _("Type the student id to confirm.")},
    )  # fmt: skip

    def __init__(self, *args, student, **kwargs):
        super().__init__(*args, **kwargs)
        self.student = student

    def clean_sis_id(self):
        typed = self.cleaned_data["sis_id"].strip()
        if typed != self.student.sis_id:
            raise forms.ValidationError(
                _(
                    "That is not this student's id. Check it on the student's page and type "
                    "it again."
                )
            )
        return typed
