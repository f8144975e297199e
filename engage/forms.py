"""What every Engage form does for the people who fill it in (and for screen readers)."""

from django import forms
from django.forms.boundfield import BoundField

# Widgets that take aria-required themselves; a radio or check box group says it on its fieldset.
_GROUPED = (forms.RadioSelect, forms.CheckboxSelectMultiple, forms.CheckboxInput)


class AccessibleBoundField(BoundField):
    """Decided when the field is drawn, so a field made required after the form was built (a reason, once
    the target is known) says so too: `aria-required` on a required field, and Bootstrap's `is-invalid`
    beside Django's own `aria-invalid` on a field with an error (the page moves the focus to the first one,
    engage.js)."""

    def build_widget_attrs(self, attrs, widget=None):
        widget = widget or self.field.widget
        attrs = super().build_widget_attrs(attrs, widget)
        if self.field.required and not isinstance(self.field.widget, _GROUPED):
            attrs["aria-required"] = "true"
        if self.errors and not widget.is_hidden:
            attrs["class"] = f"{attrs.get('class', widget.attrs.get('class', ''))} is-invalid".strip()
        return attrs


class AccessibleForm(forms.Form):
    """A required field says so to assistive technology (besides the label's "(required)"), and a field
    with an error is marked for sight and for screen readers (AccessibleBoundField)."""

    bound_field_class = AccessibleBoundField


class SetupForm(AccessibleForm):
    """A Setup page's form (status types, reasons, collection steps): Bootstrap classes on every widget, and
    every problem the service's `problems(instance, fields)` finds put on its field, so the page shows all of
    them at once; the service checks again under a lock on save."""

    problems = None  # <entity>_problems(instance, fields) -> (values, {field: [message]}), the services'

    def __init__(self, *args, obj=None, **kwargs):
        self.obj = obj
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    # (heading, what it is for, field names): the page draws each group under its heading; one group of
    # every field when a form declares none.
    FIELDSETS: tuple = ()

    def fieldsets(self):
        if not self.FIELDSETS:
            return [(None, "", list(self))]
        return [(heading, text, [self[name] for name in names]) for heading, text, names in self.FIELDSETS]

    def clean(self):
        cleaned = super().clean()
        given = {name: value for name, value in cleaned.items() if name not in self.errors}
        _values, errors = type(self).problems(self.obj, given)
        for name, messages in errors.items():
            if name not in self.errors:
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        return cleaned
