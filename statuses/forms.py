"""The Setup forms. They read input and show every problem at once; the rules and their messages come
from the services (the same functions the API goes through), which check again under a lock on save."""

from django import forms

from engage.forms import SetupForm

from .models import AccountStatusType, StatusReason
from .rules import BackendStatus
from .services import status_reason_problems, status_type_problems
from .validators import IMAGE_URL_MAX, NAME_MAX, NAME_REQUIRED


def _name_field():
    return forms.CharField(
        label="Name", strip=True, error_messages={"required": NAME_REQUIRED},
        widget=forms.TextInput(attrs={"maxlength": NAME_MAX, "autocomplete": "off"}),
    )


class AccountStatusTypeForm(SetupForm):
    name = _name_field()
    backend_status = forms.ChoiceField(
        label="Status", choices=[("", "— pick a status —"), *BackendStatus.choices],
        error_messages={"required": "Pick a status: " + ", ".join(BackendStatus.labels) + "."},
        help_text="The back-end status decides billing and provisioning for every account of this type.",
    )
    image_url = forms.CharField(
        label="Image URL", required=False, strip=True,
        widget=forms.TextInput(attrs={"maxlength": IMAGE_URL_MAX, "placeholder": "https://… or /static/…"}),
        help_text="Optional. An http:// or https:// address, or a site path such as /static/img/active.png.",
    )
    show_in_statistics = forms.BooleanField(
        label="Show in Account Statistics", required=False, initial=True,
        help_text="Count this type's accounts under its status in the sidebar.",
    )
    is_default = forms.BooleanField(
        label="Default for new accounts", required=False,
        help_text="New accounts get this type. There is exactly one default, never a cancelled type.",
    )
    replace_default = forms.BooleanField(label="Replace the current default", required=False)

    problems = staticmethod(status_type_problems)

    def __init__(self, *args, obj: AccountStatusType | None = None, **kwargs):
        if obj is not None:
            kwargs.setdefault("initial", {f: getattr(obj, f) for f in
                                          ("name", "backend_status", "image_url", "show_in_statistics",
                                           "is_default")})
        super().__init__(*args, obj=obj, **kwargs)
        current = AccountStatusType.objects.filter(is_default=True).exclude(pk=obj.pk if obj else None).first()
        wants_default = self.is_bound and self.data.get(self.add_prefix("is_default")) not in (None, "", "false")
        # Offered only once the administrator has ticked Default on a type while another one is the default.
        if current is None or not wants_default:
            del self.fields["replace_default"]
        else:
            self.fields["replace_default"].label = f"Replace the current default (“{current.name}”)"
            self.fields["replace_default"].help_text = (
                f"“{current.name}” stops being the default; this type becomes the default for new accounts."
            )


class StatusReasonForm(SetupForm):
    name = _name_field()
    backend_statuses = forms.MultipleChoiceField(
        label="Applies to", choices=BackendStatus.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one status this reason applies to."},
        help_text="The back-end statuses this reason may be given for.",
    )
    is_active = forms.BooleanField(
        label="Offered in pick lists", required=False, initial=True,
        help_text="Untick to retire the reason: it is no longer offered, and stays on the history that used it.",
    )

    problems = staticmethod(status_reason_problems)

    def __init__(self, *args, obj: StatusReason | None = None, **kwargs):
        if obj is not None:
            kwargs.setdefault("initial", {f: getattr(obj, f) for f in ("name", "backend_statuses", "is_active")})
        super().__init__(*args, obj=obj, **kwargs)
