"""Setup → Accounts and Roles → Collection Steps, and /api/v1/collection-steps/: what an Administrator sees
and which rows exist afterwards; the same rules and messages on the page and in the API. What every Setup page
does is tested once, in tests/setup_pages.py (TestCollectionStepPages declares the steps' data)."""

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from dunning.models import CollectionEpisode, CollectionStep, StepRun
from dunning.steps import step_create
from tests.accounts.factories import make_account, reason, status_type
from tests.setup_pages import SetupPageTests
from tests.statuses.factories import StatusReasonFactory

pytestmark = pytest.mark.django_db

LIST = reverse("dunning:step-list")
ADD = reverse("dunning:step-add")
DELETE = reverse("dunning:step-delete")
API = "/api/v1/collection-steps/"
PRORATED = "immediately_with_prorated_transaction"
# The fields of a reminder, over a status change's form (_form).
REMINDER = {"name": "Friendly reminder", "action": "reminder", "status_type": "", "reason": "", "option": "",
            "subject": "Your invoice is overdue", "body": "Hello {name}, please pay {overdue_amount}."}
PLACEHOLDERS = "use {name}, {number}, {overdue_amount}, {overdue_days}, {oldest_due_on}."
PICK_AGAIN = "Pick one of the listed choices: the one sent may have been deleted or retired meanwhile."


def _reminder(name="First reminder", days=14, **overrides):
    fields = {"name": name, "days_overdue": days, "min_amount": "10.00", "action": "reminder",
              "subject": "Invoice overdue", "body": "Dear {name}, {overdue_amount} is {overdue_days} days overdue."}
    fields.update(overrides)
    return step_create(**fields)


def _suspend(name="Suspend", days=30, **overrides):
    fields = {"name": name, "days_overdue": days, "action": "status_change", "status_type": status_type("Suspended"),
              "reason": reason("Non-payment"), "option": PRORATED}
    fields.update(overrides)
    return step_create(**fields)


def _form(**overrides):
    data = {"name": "Suspend at 30", "position": "", "days_overdue": "30", "min_amount": "25.00",
            "action": "status_change", "status_type": status_type("Suspended").pk, "reason": reason("Non-payment").pk,
            "option": PRORATED, "restore_to": "", "subject": "", "body": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _reminder_form(**overrides):
    return _form(**{**REMINDER, **overrides})


def _label(html, field):
    match = re.search(rf'<(?:label|legend)[^>]*class="([^"]*)"[^>]*data-testid="label-{field}"', html)
    assert match, f"no label for {field}"
    return match.group(1).split()


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def _rows(html):
    """Each list row's cells as text (without the check box)."""
    rows = re.findall(r'<tr data-testid="step-row">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    return [[unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in row][1:] for row in cells]


def _open_episode_ran(step, *, ended_on=None):
    account = make_account(name="Late Payer", email="late@example.com")
    episode = CollectionEpisode.objects.create(account=account, started_on=date(2031, 1, 1), ended_on=ended_on)
    StepRun.objects.create(episode=episode, step=step, step_name=step.name, ran_on=date(2031, 1, 15),
                           outcome=StepRun.Outcome.SENT)
    return episode


def _snapshot():
    return list(CollectionStep.objects.order_by("pk").values())


# ---- what every Setup page does (tests/setup_pages.py) ------------------------------------------


class TestCollectionStepPages(SetupPageTests):
    model = CollectionStep
    urls = {"list": "dunning:step-list", "add": "dunning:step-add", "edit": "dunning:step-edit",
            "delete": "dunning:step-delete"}
    title = "Collection Steps"
    verbose_name = "collection step"
    verbose_name_plural = "collection steps"
    row = "step-row"
    required_labels = ("name", "days_overdue", "action")
    added = {"position": 1, "days_overdue": 30, "min_amount": Decimal("25.00"), "action": "status_change",
             "status_type.name": "Suspended", "reason.name": "Non-payment", "option": PRORATED,
             "restore_to.name": "Active", "subject": "", "body": ""}
    # A reminder made a status change: the reminder's fields are cleared.
    edited = {"position": 5, "days_overdue": 21, "action": "status_change", "status_type.name": "Suspended",
              "subject": "", "body": ""}
    edit_page_shows = ('value="Invoice overdue"', "Dear {name}, {overdue_amount} is {overdue_days} days overdue.")
    # Names of types and reasons stand for their ids (form_data).
    refused = [
        ({"name": ""}, "name", "Name is required."),
        ({"action": ""}, "action", "Pick an action: send a reminder e-mail or change the status."),
        ({"days_overdue": "0"}, "days_overdue", "Days overdue must be from 1 to 3,650."),
        ({"days_overdue": "99999"}, "days_overdue", "Days overdue must be from 1 to 3,650."),
        ({"days_overdue": ""}, "days_overdue", "Days overdue is required: a whole number from 1 to 3,650."),
        ({"min_amount": "-5"}, "min_amount", "Overdue amount at least must not be negative."),
        ({"position": "0"}, "position", "Position must be from 1 to 1,000."),
        ({"status_type": ""}, "status_type", "Pick the status type this step changes the account to."),
        ({"reason": ""}, "reason", "Pick a reason: the history and the customer's e-mail say why."),
        ({"option": ""}, "option", "Pick an option: Immediately with prorated transaction, Immediately with full "
                                   "transaction, Immediately with no transaction, Period end."),
        ({"reason": "Payment received"}, "reason",
         "“Payment received” does not apply to suspended statuses: pick another, or tick that status on the reason."),
        ({"status_type": "Prospect"}, "status_type", PICK_AGAIN),
        ({"restore_to": "Cancelled"}, "restore_to", PICK_AGAIN),
        ({**REMINDER, "subject": ""}, "subject", "A reminder needs its e-mail's subject."),
        ({**REMINDER, "body": "   "}, "body", "A reminder needs its e-mail's text."),
        ({**REMINDER, "body": "Dear {foo}"}, "body", f"Unknown placeholder {{foo}}: {PLACEHOLDERS}"),
        ({**REMINDER, "subject": "Pay {Name}"}, "subject", f"Unknown placeholder {{Name}}: {PLACEHOLDERS}"),
        ({**REMINDER, "name": "first REMINDER"}, "name",
         "A collection step named “First reminder” already exists (names are unique, ignoring case)."),
    ]
    refused_edits = [
        ({"name": ""}, "name", "Name is required."),
        ({"days_overdue": "0"}, "days_overdue", "Days overdue must be from 1 to 3,650."),
        ({"reason": "Payment received"}, "reason",
         "“Payment received” does not apply to suspended statuses: pick another, or tick that status on the reason."),
    ]

    def create(self, name=None):
        return _reminder(name=name or "First reminder")

    def valid_data(self):
        return _form(restore_to=status_type("Active").pk)

    def edit_data(self, obj):
        return _form(name=f"{obj.name} (edited)", position="5", days_overdue="21")

    def form_data(self, overrides, base=None):
        data = super().form_data(overrides, base)
        for key, find in (("status_type", status_type), ("restore_to", status_type), ("reason", reason)):
            if isinstance(data.get(key), str) and data[key] and not data[key].isdigit():
                data[key] = find(data[key]).pk
        return data


# ---- list --------------------------------------------------------------------------------------


def test_list_shows_the_steps_in_order(admin_client):
    _suspend(name="Suspend", days=30, min_amount="0", restore_to=status_type("Active"), position=2)
    _reminder(name="First reminder", days=14, position=1)
    response = admin_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "at most once per overdue episode" in html and "daily collections pass" in html
    assert _rows(html) == [
        ["1", "First reminder", "14 days, ≥ 10.00", "E-mail: Invoice overdue", "—"],
        ["2", "Suspend", "30 days, any amount",
         "→ Suspended (Non-payment, Immediately with prorated transaction)", "Active"],
    ]
    assert html.count('type="checkbox" name="pk"') == 2
    assert "<style" not in html


def test_empty_list_says_so(admin_client):
    assert "No collection steps yet" in admin_client.get(LIST).content.decode()


# ---- add / edit --------------------------------------------------------------------------------


def test_add_form_groups_the_actions(admin_client):
    html = admin_client.get(ADD).content.decode()
    assert html.index(">Reminder e-mail</h2>") < html.index('name="subject"') < html.index(">Status change</h2>")
    assert html.index(">Status change</h2>") < html.index('name="status_type"')
    assert "{overdue_amount}" in html and "Blank = the type the account had before the episode" in html
    assert 'value="0.00"' in html  # Overdue amount at least
    # A step cannot move an account to a prospect type, nor restore it to a prospect or cancelled one.
    status_options = re.search(r'<select name="status_type".*?</select>', html, re.S).group(0)
    assert "Prospect" not in status_options and "Suspended" in status_options
    restore_options = re.search(r'<select name="restore_to".*?</select>', html, re.S).group(0)
    assert "Cancelled" not in restore_options and "Prospect" not in restore_options
    assert "specific_date" not in html


def test_fields_of_the_other_action_are_cleared(admin_client):
    response = admin_client.post(ADD, _reminder_form(status_type=status_type("Suspended").pk,
                                                     reason=reason("Non-payment").pk, option=PRORATED))
    assert response.status_code == 302
    step = CollectionStep.objects.get()
    assert (step.action, step.subject, step.body) == (
        "reminder", "Your invoice is overdue", "Hello {name}, please pay {overdue_amount}.")
    assert (step.status_type, step.reason, step.option) == (None, None, "")


def test_edit_keeps_a_retired_reason_offered(admin_client):
    retired = StatusReasonFactory(name="Old dunning", backend_statuses=["suspended"])
    step = _suspend(reason=retired)
    retired.is_active = False
    retired.save()
    url = reverse("dunning:step-edit", args=[step.pk])
    assert "Old dunning" in admin_client.get(url).content.decode()
    assert admin_client.post(url, _form(name="Suspend", reason=retired.pk)).status_code == 302
    html = admin_client.get(ADD).content.decode()
    assert "Old dunning" not in html


def test_every_problem_is_shown_at_once(admin_client):
    response = admin_client.post(ADD, _form(name="", days_overdue="0", status_type="", reason=""))
    html = response.content.decode()
    assert response.status_code == 400
    for field in ("name", "days_overdue", "status_type", "reason"):
        assert "invalid-label" in _label(html, field), field
    assert "invalid-label" not in _label(html, "option")
    assert not CollectionStep.objects.exists()


# ---- delete ------------------------------------------------------------------------------------


def test_a_step_an_open_episode_ran_is_kept_with_the_reason(admin_client):
    used, unused = _reminder(), _suspend()
    episode = _open_episode_ran(used)
    why = ("1 account is in a collections episode that ran it; it can be deleted once they have paid "
           "(or their episode otherwise ends).")
    html = admin_client.post(DELETE, {"pk": [used.pk, unused.pk]}).content.decode()
    assert f"Will be kept: {why}" in html
    response = admin_client.post(DELETE, {"pk": [used.pk, unused.pk], "confirm": "1"}, follow=True)
    assert "Deleted 1 of the checked collection steps: “Suspend”." in _messages(response)
    assert f"“First reminder” was not deleted: {why}" in _messages(response)
    assert list(CollectionStep.objects.values_list("name", flat=True)) == ["First reminder"]

    # Once the episode has ended, the same step may go; the run keeps its name.
    episode.ended_on = date(2031, 2, 1)
    episode.save()
    response = admin_client.post(DELETE, {"pk": [used.pk], "confirm": "1"}, follow=True)
    assert "Deleted 1 of the checked collection steps: “First reminder”." in _messages(response)
    assert not CollectionStep.objects.exists()
    assert list(StepRun.objects.values_list("step", "step_name")) == [(None, "First reminder")]


# ---- API ---------------------------------------------------------------------------------------


def test_support_reads_but_cannot_write(api_support):
    step = _suspend(restore_to=status_type("Active"))
    response = api_support.get(API)
    assert response.status_code == 200
    assert response.json()["results"] == [{
        "id": step.pk, "name": "Suspend", "position": 1, "days_overdue": 30, "min_amount": "0.00",
        "action": "status_change", "status_type": status_type("Suspended").pk, "reason": reason("Non-payment").pk,
        "option": PRORATED, "restore_to": status_type("Active").pk, "subject": "", "body": "",
    }]
    assert api_support.get(f"{API}{step.pk}/").json()["name"] == "Suspend"
    before = _snapshot()
    assert api_support.post(API, {"name": "X", "days_overdue": 5, "action": "reminder", "subject": "S",
                                  "body": "B"}, format="json").status_code == 403
    assert api_support.patch(f"{API}{step.pk}/", {"days_overdue": 5}, format="json").status_code == 403
    assert api_support.delete(f"{API}{step.pk}/").status_code == 403
    assert _snapshot() == before


def test_admin_creates_edits_and_deletes(api_admin):
    response = api_admin.post(API, {"name": " Reminder ", "days_overdue": 7, "min_amount": "5.5", "action": "reminder",
                                    "subject": "Overdue", "body": "{name}: {overdue_amount} since {oldest_due_on}"},
                              format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: v for k, v in body.items() if k != "id"} == {
        "name": "Reminder", "position": 1, "days_overdue": 7, "min_amount": "5.50", "action": "reminder",
        "status_type": None, "reason": None, "option": "", "restore_to": None, "subject": "Overdue",
        "body": "{name}: {overdue_amount} since {oldest_due_on}",
    }
    url = f"{API}{body['id']}/"
    response = api_admin.patch(url, {"action": "status_change", "status_type": status_type("Cancelled").pk,
                                     "reason": reason("Fraud").pk, "option": "period_end"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["action"], response.json()["subject"], response.json()["option"]) == (
        "status_change", "", "period_end")
    step = CollectionStep.objects.get()
    assert (step.status_type.name, step.reason.name, step.subject, step.body) == ("Cancelled", "Fraud", "", "")
    assert api_admin.patch(url, {"position": 4}, format="json").json()["position"] == 4
    assert api_admin.delete(url).status_code == 204
    assert not CollectionStep.objects.exists()


def test_put_is_not_offered(api_admin):
    step = _reminder()
    assert api_admin.put(f"{API}{step.pk}/", {"name": "X"}, format="json").status_code == 405


@pytest.mark.parametrize(
    "payload, errors",
    [
        ({"name": "", "days_overdue": 5, "action": "reminder", "subject": "S", "body": "B"},
         {"name": ["Name is required."]}),
        ({"name": "R", "days_overdue": 0, "action": "reminder", "subject": "S", "body": "B"},
         {"days_overdue": ["Days overdue must be from 1 to 3,650."]}),
        ({"name": "R", "days_overdue": 5, "min_amount": "-1.00", "action": "reminder", "subject": "S", "body": "B"},
         {"min_amount": ["Overdue amount at least must not be negative."]}),
        ({"name": "R", "days_overdue": 5, "action": "reminder", "body": "B"},
         {"subject": ["A reminder needs its e-mail's subject."]}),
        ({"name": "R", "days_overdue": 5, "action": "reminder", "subject": "S", "body": "{foo}"},
         {"body": ["Unknown placeholder {foo}: use {name}, {number}, {overdue_amount}, {overdue_days}, "
                   "{oldest_due_on}."]}),
        ({"name": "R", "days_overdue": 5, "action": "status_change", "option": PRORATED},
         {"status_type": ["Pick the status type this step changes the account to."],
          "reason": ["Pick a reason: the history and the customer's e-mail say why."]}),
        ({"name": "R", "days_overdue": 5, "action": "status_change", "status_type": "Prospect",
          "reason": "Customer request", "option": PRORATED},
         {"status_type": ["Prospect is only an initial status: a step cannot move an account back to it."],
          "reason": ["“Customer request” does not apply to prospect statuses: pick another, or tick that status on "
                     "the reason."]}),
        ({"name": "R", "days_overdue": 5, "action": "status_change", "status_type": "Suspended",
          "reason": "Non-payment", "option": PRORATED, "restore_to": "Cancelled"},
         {"restore_to": ["An account is restored to a status that is not prospect or cancelled."]}),
    ],
)
def test_api_field_errors(api_admin, payload, errors):
    payload = dict(payload)
    for key in ("status_type", "restore_to"):
        if key in payload:
            payload[key] = status_type(payload[key]).pk
    if "reason" in payload:
        payload["reason"] = reason(payload["reason"]).pk
    response = api_admin.post(API, payload, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not CollectionStep.objects.exists()


def test_api_duplicate_name_ignoring_case(api_admin):
    _reminder()
    response = api_admin.patch(f"{API}{_suspend().pk}/", {"name": "FIRST reminder"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "name": ["A collection step named “First reminder” already exists (names are unique, ignoring case)."]}


def test_api_delete_of_a_step_in_use_is_409(api_admin):
    step = _reminder()
    episode = _open_episode_ran(step)
    response = api_admin.delete(f"{API}{step.pk}/")
    assert response.status_code == 409
    assert response.json() == {"detail": "“First reminder” was not deleted: 1 account is in a collections episode "
                                         "that ran it; it can be deleted once they have paid (or their episode "
                                         "otherwise ends)."}
    assert CollectionStep.objects.filter(pk=step.pk).exists()
    episode.ended_on = date(2031, 2, 1)
    episode.save()
    assert api_admin.delete(f"{API}{step.pk}/").status_code == 204



def test_a_status_type_or_reason_a_step_uses_is_not_deleted_and_the_page_says_why(admin_client):
    from statuses.services import status_reasons_delete, status_types_delete
    from tests.statuses.factories import StatusTypeFactory

    target = StatusTypeFactory(name="Barred", backend_status="suspended")
    why = StatusReasonFactory(name="Dunning", backend_statuses=["suspended"])
    step_create(name="Bar", days_overdue=9, action="status_change", status_type=target, reason=why,
                option="period_end")
    assert status_types_delete([target.pk]) == ([], [("Barred", "collection steps use it.")])
    assert status_reasons_delete([why.pk]) == ([], [("Dunning", "collection steps use it: change them first.")])
    page = admin_client.post("/setup/account-status-types/delete/", {"pk": [target.pk]}).content.decode()
    assert "collection steps use it" in page
