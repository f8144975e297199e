from django import forms

from .models import AccountStatusType, StatusReason
from .rules import BackendStatus
from .validators import validate_image_url


class AccountStatusTypeForm(forms.ModelForm):
    name = forms.CharField(max_length=100, strip=True)
    image_url = forms.CharField(
        label="Image URL", required=False, max_length=500, validators=[validate_image_url],
        help_text="Optional. An http(s) address or a site path such as /static/img/active.png.",
    )

    class Meta:
        model = AccountStatusType
        fields = ["name", "backend_status", "image_url", "show_in_statistics", "is_default"]
        labels = {"backend_status": "Status"}
        help_texts = {
            "backend_status": "The back-end status decides billing and provisioning.",
            "is_default": "New accounts get this type; exactly one type is the default.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["backend_status"].choices = [("", "---------")] + list(BackendStatus.choices)
        for name, field in self.fields.items():
            if not isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-select" if name == "backend_status" else "form-control")

    def validate_unique(self):
        # The service checks uniqueness (case-insensitive) with its own message.
        pass


class StatusReasonForm(forms.ModelForm):
    name = forms.CharField(max_length=100, strip=True)
    backend_statuses = forms.MultipleChoiceField(
        label="Applies to", choices=BackendStatus.choices, widget=forms.CheckboxSelectMultiple,
        help_text="The back-end statuses this reason may be given for.",
    )
    is_active = forms.BooleanField(
        label="Active", required=False, initial=True,
        help_text="Untick to retire: hidden from pick lists, kept on history.",
    )

    class Meta:
        model = StatusReason
        fields = ["name", "backend_statuses", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["class"] = "form-control"

    def validate_unique(self):
        pass
