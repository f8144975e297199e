"""The Collection Steps Setup form. It reads input and shows every problem at once; the rules and their
messages are dunning.steps' (the same the API goes through), checked again under a lock on save."""

from django import forms

from engage.forms import SetupForm
from engage.limits import BODY_MAX_CHARS, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, NAME_MAX_CHARS, SUBJECT_MAX_CHARS
from statuses.models import AccountStatusType, StatusReason
from statuses.rules import BackendStatus
from statuses.validators import NAME_REQUIRED

from .models import CollectionAction, CollectionStep
from .steps import MAX_DAYS, PLACEHOLDERS, STEP_FIELDS, STEP_OPTIONS, step_problems

PLACEHOLDER_HELP = "Placeholders: " + "; ".join(f"{{{name}}} = {what}" for name, what in PLACEHOLDERS.items()) + "."
_PICK_AGAIN = "Pick one of the listed choices: the one sent may have been deleted or retired meanwhile."


class StatusTypeChoiceField(forms.ModelChoiceField):
    """Each type with its back-end status, unless its name already says it."""

    def label_from_instance(self, obj):
        status = obj.get_backend_status_display()
        return obj.name if obj.name.casefold() == status.casefold() else f"{obj.name} ({status})"


class CollectionStepForm(SetupForm):
    name = forms.CharField(
        label="Name", strip=True, error_messages={"required": NAME_REQUIRED},
        widget=forms.TextInput(attrs={"maxlength": NAME_MAX_CHARS, "autocomplete": "off"}),
    )
    position = forms.IntegerField(
        label="Position", required=False, widget=forms.NumberInput(attrs={"min": 1, "step": 1}),
        help_text="Optional. Steps run in this order; empty puts the step after the last one.",
    )
    days_overdue = forms.IntegerField(
        label="Days overdue", widget=forms.NumberInput(attrs={"min": 1, "max": MAX_DAYS, "step": 1}),
        error_messages={"required": f"Days overdue is required: a whole number from 1 to {MAX_DAYS:,}."},
        help_text="The step runs once the oldest unpaid invoice is this many days past its due date.",
    )
    min_amount = forms.DecimalField(
        label="Overdue amount at least", required=False, initial="0.00",
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text="…and the amount overdue is at least this much (0.00: any amount).",
    )
    action = forms.ChoiceField(
        label="Action", choices=[("", "— pick an action —"), *CollectionAction.choices],
        error_messages={"required": "Pick an action: " + " or ".join(CollectionAction.labels).lower() + "."},
        help_text="The fields of the other action are ignored and cleared on save.",
    )
    subject = forms.CharField(
        label="Subject", required=False, strip=True,
        widget=forms.TextInput(attrs={"maxlength": SUBJECT_MAX_CHARS, "autocomplete": "off"}),
        help_text="Needed for a reminder. The same placeholders as the body may be used.",
    )
    body = forms.CharField(
        label="Body", required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "maxlength": BODY_MAX_CHARS}),
        help_text="Needed for a reminder. " + PLACEHOLDER_HELP,
    )
    status_type = StatusTypeChoiceField(
        label="Change the status to", required=False, empty_label="— pick a status type —",
        queryset=AccountStatusType.objects.none(), error_messages={"invalid_choice": _PICK_AGAIN},
        help_text="Needed for a status change. Not a prospect type: prospect is only an initial status.",
    )
    reason = forms.ModelChoiceField(
        label="Reason", required=False, empty_label="— pick a reason —", queryset=StatusReason.objects.none(),
        error_messages={"invalid_choice": _PICK_AGAIN},
        help_text="Needed for a status change; it must apply to the new status. The history and the customer's "
                  "e-mail give it.",
    )
    option = forms.ChoiceField(
        label="Option", required=False,
        choices=[("", "— pick an option —"), *((o.value, o.label) for o in STEP_OPTIONS)],
        help_text="Needed for a status change: when it takes effect and how the current period is billed.",
    )
    restore_to = StatusTypeChoiceField(
        label="On payment, restore to", required=False, empty_label="— the type before the episode —",
        queryset=AccountStatusType.objects.none(), error_messages={"invalid_choice": _PICK_AGAIN},
        help_text="Blank = the type the account had before the episode. When nothing is overdue any more the "
                  "account goes back, unless someone changed its status by hand meanwhile.",
    )

    problems = staticmethod(step_problems)

    # The page shows the fields of each action under its own heading (SetupForm.fieldsets).
    FIELDSETS = (
        (None, "", ("name", "position", "days_overdue", "min_amount", "action")),
        ("Reminder e-mail", "For the action “Send a reminder e-mail”: the e-mail sent to the account's address. "
                            "Ignored (and cleared on save) for the other action.", ("subject", "body")),
        ("Status change", "For the action “Change the status”: the change made through the status-change engine, "
                          "as if by hand. Ignored (and cleared on save) for the other action.",
         ("status_type", "reason", "option", "restore_to")),
    )

    def __init__(self, *args, obj: CollectionStep | None = None, **kwargs):
        if obj is not None:
            kwargs.setdefault("initial", {f: getattr(obj, f) for f in STEP_FIELDS})
        super().__init__(*args, obj=obj, **kwargs)
        types = AccountStatusType.objects.order_by("name", "pk")
        self.fields["status_type"].queryset = types.exclude(backend_status=BackendStatus.PROSPECT)
        self.fields["restore_to"].queryset = types.exclude(
            backend_status__in=[BackendStatus.PROSPECT, BackendStatus.CANCELLED])
        # Active reasons, and the one the step already has even if it was retired since (kept on edit).
        reasons = StatusReason.objects.filter(is_active=True)
        if obj is not None and obj.reason_id:
            reasons = StatusReason.objects.filter(pk=obj.reason_id) | reasons
        self.fields["reason"].queryset = reasons.order_by("name", "pk")

