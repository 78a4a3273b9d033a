from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Wraps every field group in a div, so labels, inputs and errors stay together."""

    field_template_name = "forms/field.html"
