from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lastbell.accounts"
    label = "accounts"
