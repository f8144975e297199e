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
