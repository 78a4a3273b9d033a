from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "lastbell.privacy"
    label = "privacy"
