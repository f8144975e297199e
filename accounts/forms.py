from django import forms

from statuses.models import AccountStatusType
from statuses.rules import BackendStatus


class AccountFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Number, name or e-mail", "class": "form-control"}),
    )
    status_type = forms.ModelChoiceField(
        queryset=AccountStatusType.objects.all(), required=False, empty_label="Any status type",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    backend_status = forms.ChoiceField(choices=[("", "Any back-end status")] + list(BackendStatus.choices),
                                       required=False, widget=forms.Select(attrs={"class": "form-select"}))
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
