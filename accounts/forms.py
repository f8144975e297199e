from django import forms

from billing.models import PaymentMethod
from engage.forms import AccessibleForm
from engage.input_fields import PageDateField
from engage.limits import DESCRIPTION_MAX_CHARS, NOTE_MAX_CHARS
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import ChangeOption


def _types(allowed):
    return AccountStatusType.objects.filter(pk__in=[t.pk for t in allowed])


def _date_field(**kwargs):
    return PageDateField(label="Date", **kwargs)


class StatusPickForm(AccessibleForm):
    """Step 1 of the Status flow: the new status type, among those the rules allow (timeline.allowed_targets)."""

    status_type = forms.ModelChoiceField(
        queryset=AccountStatusType.objects.all(),
        label="Status",
        empty_label="Choose a status…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status_type"].queryset = _types(allowed)


class StatusOptionForm(AccessibleForm):
    """Step 2: option, reason, date, note; carries the account version so a stale form is refused."""

    option = forms.ChoiceField(widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    reason = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Choose a reason…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    effective_date = _date_field(required=False, help_text="Today or later.")
    note = forms.CharField(
        required=False, max_length=NOTE_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, options, reasons, reason_required, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = options
        self.fields["reason"].queryset = StatusReason.objects.filter(pk__in=[r.pk for r in reasons])
        self.fields["reason"].required = reason_required
        self.fields["effective_date"].widget.attrs["min"] = today.isoformat()


class ComponentStatusForm(AccessibleForm):
    """Components → Add → Change User Status: the status type, when (a date, or the period end) and the
    reason; previewed like step 2."""

    status_type = forms.ModelChoiceField(
        queryset=AccountStatusType.objects.all(),
        label="User Status Type",
        empty_label="Choose a status…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    # SPEC §5: a component is the type and its date, so Specific date is what it means unless Period end is
    # chosen (shown ticked, and what a post without the field gets).
    option = forms.ChoiceField(
        label="When", required=False,
        choices=[(ChangeOption.SPECIFIC_DATE, "Specific date"), (ChangeOption.PERIOD_END, "Period end")],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    effective_date = _date_field(required=False, help_text="Today or later.")
    reason = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Choose a reason…",
        help_text="Required when the new status is a cancelled or suspended type.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, allowed, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status_type"].queryset = _types(allowed)
        self.fields["reason"].queryset = StatusReason.objects.filter(is_active=True)
        self.fields["effective_date"].widget.attrs["min"] = today.isoformat()

    def clean_option(self):
        return self.cleaned_data.get("option") or ChangeOption.SPECIFIC_DATE


class PaymentForm(AccessibleForm):
    """Overview → Payments → Add (SPEC §11): the rules are the service's (billing.payments.payment_record)."""

    amount = forms.DecimalField(
        label="Amount", max_digits=12, decimal_places=2, widget=forms.NumberInput(attrs={"class": "form-control",
                                                                                      "step": "0.01", "min": "0.01"})
    )
    paid_on = _date_field(what="Date", help_text="The day the money was received: today or earlier.")
    method = forms.ChoiceField(choices=[("", "Choose a method…"), *PaymentMethod.choices],
                               widget=forms.Select(attrs={"class": "form-select"}))
    reference = forms.CharField(label="Reference", required=False, max_length=DESCRIPTION_MAX_CHARS,
                                help_text="The bank's or card processor's reference, if any.",
                                widget=forms.TextInput(attrs={"class": "form-control"}))


class PaymentReverseForm(AccessibleForm):
    reason = forms.CharField(label="Reason", max_length=DESCRIPTION_MAX_CHARS,
                             help_text="Why the payment is taken back (a bounced cheque, a charge-back, a mistake).",
                             widget=forms.TextInput(attrs={"class": "form-control"}))
