"""The bulk status change's step 2 form."""

from django import forms

from engage.input_fields import PageDateField
from engage.limits import NOTE_MAX_CHARS
from statuses.models import AccountStatusType, StatusReason


class BulkStatusForm(forms.Form):
    """The bulk status change's step 2 (SPEC §5): the same fields as a single change's, for many accounts;
    a file of account numbers when no accounts were chosen on the list."""

    status_type = forms.ModelChoiceField(
        queryset=AccountStatusType.objects.all(),
        label="New status",
        empty_label="Choose a status…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    option = forms.ChoiceField(widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    reason = forms.ModelChoiceField(
        queryset=StatusReason.objects.filter(is_active=True),
        required=False,
        empty_label="Choose a reason…",
        help_text="Required to cancel or suspend.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    effective_date = PageDateField(label="Date", required=False, help_text="Only for Specific date.")
    note = forms.CharField(
        required=False, max_length=NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )
    file = forms.FileField(
        label="Account numbers (CSV)", required=False,
        help_text="One account number per line, or a CSV file with a “number” column; at most 200,000.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.txt,text/csv,text/plain"}),
    )

    def __init__(self, *args, options, needs_file: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = options
        if needs_file:
            self.fields["file"].required = True
        else:
            del self.fields["file"]
