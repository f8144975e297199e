from django import forms

from engage.limits import NOTE_MAX_CHARS
from statuses.models import AccountStatusType, StatusReason


class StatusPickForm(forms.Form):
    """Step 1 of the Status flow: the new status type."""

    status_type = forms.ModelChoiceField(
        queryset=AccountStatusType.objects.all(),
        label="Status",
        empty_label="Choose a status…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        if account is not None:
            self.fields["status_type"].queryset = AccountStatusType.objects.exclude(pk=account.status_type_id)


class StatusOptionForm(forms.Form):
    """Step 2: option, reason, date, note; carries the account version so a stale form is refused."""

    option = forms.ChoiceField(widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    reason = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Choose a reason…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    effective_date = forms.DateField(
        label="Date", required=False, widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    note = forms.CharField(
        required=False, max_length=NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, options, reasons, reason_required, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = options
        self.fields["reason"].queryset = StatusReason.objects.filter(pk__in=[r.pk for r in reasons])
        self.fields["reason"].required = reason_required


class ComponentStatusForm(forms.Form):
    """Components → Add → Change User Status: the status type and the date."""

    status_type = forms.ModelChoiceField(
        queryset=AccountStatusType.objects.all(),
        label="User Status Type",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    effective_date = forms.DateField(
        label="Date", widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )
    reason = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="(needed to cancel or suspend)",
        help_text="Required when the new status is a cancelled or suspended type.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status_type"].queryset = AccountStatusType.objects.exclude(pk=account.status_type_id)
        self.fields["reason"].queryset = StatusReason.objects.filter(is_active=True)


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
    effective_date = forms.DateField(
        label="Date", required=False, help_text="Only for Specific date.",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
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
