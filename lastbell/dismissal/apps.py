from django.apps import AppConfig


class DismissalConfig(AppConfig):
    name = "lastbell.dismissal"
