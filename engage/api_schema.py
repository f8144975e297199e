"""The error answers every operation of the OpenAPI schema really gives (SPEC §9), added in one place
(a drf-spectacular post-processing hook) so that a new operation cannot forget them."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "{\"detail\": message} for the request as a whole, or {field: [messages]} per field.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}

# (method, path) pairs whose rules can refuse with 409: a stale version, an executed change, a row in use,
# a period billed meanwhile.
CONFLICTS = {
    ("post", "/api/v1/accounts/{account_id}/status-changes/"),
    ("delete", "/api/v1/status-changes/{id}/"),
    ("delete", "/api/v1/status-types/{id}/"),
    ("delete", "/api/v1/status-reasons/{id}/"),
    ("delete", "/api/v1/collection-steps/{id}/"),
    ("post", "/api/v1/accounts/{account_id}/bill/"),
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            answers = {
                "401": "No credentials, or a token that is not valid.",
                "403": "The user's role does not allow this (Setup is for Administrators).",
                "429": "Too many requests for this token; the Retry-After header says when to try again.",
            }
            if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
                answers["400"] = "Invalid input: {field: [messages]} or {detail}; nothing was saved."
            if "requestBody" in operation:
                answers["415"] = "A body that is not JSON, a form or multipart (or whose Content-Type cannot be read)."
            if "{" in path:
                answers["404"] = "No such object (or an id that is not a number)."
            if (method, path) in CONFLICTS:
                answers["409"] = "Refused by the data as it is now: {detail} says why; nothing was saved."
            for code, description in answers.items():
                responses.setdefault(code, _error(description))
    return result


# Each operation's group in the docs (by the resource its path names) and its one-line summary.
TAGS = [
    ("Accounts", "Subscriber accounts: list (filters, cursor paging), create, read, edit."),
    ("Status changes", "Change an account's status now or on a date, preview it, list its history, remove "
                       "a pending change."),
    ("Bulk status changes", "One status change for many accounts: dry run, save, cancel, skipped accounts."),
    ("Billing", "Packages, user packages, usage, charges and credits, invoices, payments, Bill Account."),
    ("Provisioning", "What the network switch holds for an account."),
    ("Statistics", "Account Statistics, as in the sidebar, and the aging of overdue accounts."),
    ("Status types", "Setup: the operator's Account Status Types (Administrators)."),
    ("Status reasons", "Setup: the reasons given for a cancel or suspend (Administrators)."),
    ("Collections", "Overdue accounts: the collection steps (Setup, Administrators), the dry run of the "
                    "collections pass, exemptions."),
]
# The first path segment after /api/v1/ (or after /accounts/{account_id}/) → its tag.
_SEGMENT_TAGS = {
    "accounts": "Accounts", "status-changes": "Status changes", "bulk-status-changes": "Bulk status changes",
    "bill": "Billing", "charges": "Billing", "packages": "Billing", "usage": "Billing",
    "payments": "Billing", "invoices": "Billing",
    "provisioning": "Provisioning", "statistics": "Statistics", "status-types": "Status types",
    "status-reasons": "Status reasons",
    "collection-steps": "Collections", "collections": "Collections", "collections-exemption": "Collections",
}
SUMMARIES = {
    "v1_accounts_list": "List accounts",
    "v1_accounts_create": "Create an account",
    "v1_accounts_retrieve": "Read an account",
    "v1_accounts_partial_update": "Edit an account's name, e-mail or bill day",
    "v1_accounts_bill_create": "Bill Account: bill what is due today",
    "v1_accounts_charges_list": "List an account's charges and credits",
    "v1_accounts_packages_list": "List an account's user packages",
    "v1_accounts_packages_create": "Sell a package to an account",
    "v1_accounts_provisioning_retrieve": "Read an account's provisioning state",
    "v1_accounts_status_changes_list": "List an account's status changes (history and pending)",
    "v1_accounts_status_changes_create": "Change an account's status (now or on a date)",
    "v1_accounts_status_changes_preview_create": "Preview a status change (saves nothing)",
    "v1_accounts_usage_list": "List an account's usage records",
    "v1_accounts_payments_list": "List an account's payments",
    "v1_accounts_payments_create": "Record a payment, or reverse a mistaken one",
    "v1_accounts_invoices_list": "List an account's invoices and credit notes with what is paid",
    "v1_accounts_usage_create": "Record rated usage",
    "v1_bulk_status_changes_list": "List bulk status changes",
    "v1_bulk_status_changes_create": "Submit a bulk status change (a dry run unless dry_run is false)",
    "v1_bulk_status_changes_retrieve": "Read a bulk status change and its progress",
    "v1_bulk_status_changes_cancel_create": "Cancel a bulk status change after its current chunk",
    "v1_bulk_status_changes_save_create": "Run a checked bulk status change",
    "v1_bulk_status_changes_skipped_list": "List the accounts a bulk status change skipped, and why",
    "v1_packages_list": "List the package catalogue",
    "v1_packages_create": "Add a package to the catalogue",
    "v1_statistics_retrieve": "Read Account Statistics",
    "v1_statistics_aging_retrieve": "Read the aging of overdue accounts (as the last collections pass counted)",
    "v1_collections_dry_run_retrieve": "Dry run: what the collections pass of a day would do (changes nothing)",
    "v1_accounts_collections_exemption_retrieve": "Read an account's exemption from collections",
    "v1_accounts_collections_exemption_create": "Exempt an account from collections until a date (or end it)",
    "v1_status_changes_retrieve": "Read a status change",
    "v1_status_changes_destroy": "Remove a pending status change",
    "v1_status_reasons_list": "List status reasons",
    "v1_status_reasons_create": "Add a status reason",
    "v1_status_reasons_retrieve": "Read a status reason",
    "v1_status_reasons_partial_update": "Edit or retire a status reason",
    "v1_status_reasons_destroy": "Delete a status reason (refused while it is used)",
    "v1_status_types_list": "List Account Status Types",
    "v1_status_types_create": "Add an Account Status Type",
    "v1_status_types_retrieve": "Read an Account Status Type",
    "v1_status_types_partial_update": "Edit an Account Status Type",
    "v1_status_types_destroy": "Delete an Account Status Type (refused while accounts use it)",
    "v1_collection_steps_list": "List collection steps in the order they run",
    "v1_collection_steps_create": "Add a collection step",
    "v1_collection_steps_retrieve": "Read a collection step",
    "v1_collection_steps_partial_update": "Edit a collection step",
    "v1_collection_steps_destroy": "Delete a collection step (refused while an open episode ran it)",
}


def _tag_for(path: str) -> str:
    parts = [p for p in path.removeprefix("/api/v1/").split("/") if p and not p.startswith("{")]
    if parts[:1] == ["accounts"] and len(parts) > 1:
        parts = parts[1:]
    return _SEGMENT_TAGS[parts[0]]


def group_and_summarise(result, generator, request, public):
    """Operations grouped by resource (not one "v1" group) in the order of TAGS, each with its summary."""
    result["tags"] = [{"name": name, "description": text} for name, text in TAGS]
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            operation["tags"] = [_tag_for(path)]
            operation.setdefault("summary", SUMMARIES.get(operation.get("operationId"), ""))
    return result
