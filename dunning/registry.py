"""What collections registers with the ground: the collections pass (third in the business day's order, after
billing, whose invoices and credit notes it reads), the steps its Setup records in the audit log, its card on
the account Overview, and its part of the API docs."""

from datetime import timedelta

from celery.schedules import crontab

from engage.api_schema import register_api
from engage.audit import register_audit
from engage.panels import Panel, register_panel
from engage.roles import register_role_permissions
from engage.schedule import ScheduledPass, register_pass
from statuses.usage import register_usage

from . import notifications, restore  # noqa: F401 - the payment signal's receiver, the outbox handlers
from .models import CollectionStep
from .overview import collections_card
from .passes import PASS_NAME, collections_for_day
from .steps import setup_holds

register_pass(ScheduledPass(
    "collections-pass", "dunning.tasks.collections_pass_task", crontab(hour=2, minute=0), "daily at 02:00",
    6 * 3600, name=PASS_NAME, label="Collections pass", limit=timedelta(hours=26), day_order=2,
    run=collections_for_day,
))
register_audit(audited=(CollectionStep,))
register_usage(holds=setup_holds)
register_panel(Panel("accounts.overview", 20, "dunning/_overview.html", collections_card))
register_api(
    tags=[(90, "Collections", "Overdue accounts: the collection steps (Setup, Administrators), the dry run of the "
                              "collections pass, exemptions.")],
    segments={"collection-steps": "Collections", "collections": "Collections", "collections-exemption": "Collections"},
    summaries={
        "v1_collections_dry_run_retrieve": "Dry run: what the collections pass of a day would do (changes nothing)",
        "v1_accounts_collections_exemption_retrieve": "Read an account's exemption from collections",
        "v1_accounts_collections_exemption_create": "Exempt an account from collections until a date (or end it)",
        "v1_collection_steps_list": "List collection steps in the order they run",
        "v1_collection_steps_create": "Add a collection step",
        "v1_collection_steps_retrieve": "Read a collection step",
        "v1_collection_steps_partial_update": "Edit a collection step",
        "v1_collection_steps_destroy": "Delete a collection step (refused while an open episode ran it)",
    },
    conflicts={("delete", "/api/v1/collection-steps/{id}/")},
)
register_role_permissions("dunning", support=["view"])
