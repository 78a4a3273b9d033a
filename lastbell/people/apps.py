from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "lastbell.people"
    label = "people"
