"""What every Engage form does for the people who fill it in (and for screen readers)."""

from django import forms

# Widgets that take aria-required themselves; a radio or check box group says it on its fieldset.
_GROUPED = (forms.RadioSelect, forms.CheckboxSelectMultiple, forms.CheckboxInput)


class AccessibleForm(forms.Form):
    """A required field says so to assistive technology (`aria-required`, besides the label's "(required)"),
    and a field with an error is marked `is-invalid` and `aria-invalid` (the page moves the focus to the
    first one, engage.js)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.required and not isinstance(field.widget, _GROUPED):
                field.widget.attrs["aria-required"] = "true"

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"
