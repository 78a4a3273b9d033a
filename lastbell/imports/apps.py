from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "lastbell.imports"
    label = "imports"
