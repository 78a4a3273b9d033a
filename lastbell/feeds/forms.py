from django import forms

from lastbell.feeds.fetch import FeedProblem, check_url, drop_folder, drop_folder_root
from lastbell.feeds.models import BusFeed
from lastbell.plans.forms import TimeInput


class BusFeedForm(forms.ModelForm):
    new_authorization = forms.CharField(
        label="Authorization header (optional)",
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    clear_authorization = forms.BooleanField(label="Remove the saved value", required=False)

    class Meta:
        model = BusFeed
        fields = ["kind", "folder", "url", "pull_at", "enabled"]
        widgets = {"kind": forms.RadioSelect, "url": forms.URLInput, "pull_at": TimeInput()}
        labels = {"folder": "Folder", "url": "Web address"}
        error_messages = {
            "pull_at": {
                "required": "Give the time of day to pull the feed, such as 2:00 AM.",
                "invalid": "Enter a time such as 2:00 AM.",
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].help_text = (
            f"A folder inside {drop_folder_root()} on the Last Bell server, such as "
            "“lincoln”. Last Bell takes the newest .csv file in it."
        )
        self.fields["url"].help_text = "Starts with https://. Last Bell downloads the file there."
        hint = self.instance.authorization_hint
        self.fields["new_authorization"].help_text = (
            "Only for a server that asks for a sign-in, such as “Bearer 8f2c…”. It is kept "
            "hidden. "
            + (f"A value is saved ({hint}); leave this empty to keep it." if hint else "")
        ).strip()
        self.fields["pull_at"].help_text = (
            f"Time at the school ({self.instance.school.timezone}). Pulling at night, such as "
            "2:00 AM, means the day starts with the new buses."
        )

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == BusFeed.Kind.FOLDER:
            folder = (data.get("folder") or "").strip()
            if not folder:
                self.add_error("folder", "Give the folder the transportation system's file is in.")
            else:
                try:
                    path = drop_folder(folder)
                except FeedProblem as problem:
                    self.add_error("folder", str(problem))
                else:
                    if not path.is_dir():
                        self.add_error(
                            "folder",
                            f"There is no folder {path} on the Last Bell server. Check the "
                            "spelling, or ask your district IT to make it.",
                        )
                    data["folder"] = folder
        elif kind == BusFeed.Kind.URL:
            url = (data.get("url") or "").strip()
            if not url:
                self.add_error("url", "Give the web address of the feed, starting with https://.")
            else:
                try:
                    data["url"] = check_url(url)
                except FeedProblem as problem:
                    self.add_error("url", str(problem))
        value = data.get("new_authorization", "")
        if value and any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            self.add_error(
                "new_authorization", "The Authorization value must be one line of plain text."
            )
        return data

    def save(self, commit=True):
        feed = super().save(commit=False)
        if self.cleaned_data.get("clear_authorization"):
            feed.authorization = ""
        if self.cleaned_data.get("new_authorization"):
            feed.authorization = self.cleaned_data["new_authorization"]
        if commit:
            feed.save()
        return feed
