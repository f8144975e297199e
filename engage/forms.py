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
