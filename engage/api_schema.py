"""The error answers every operation of the OpenAPI schema really gives (SPEC §9), added in one place
(a drf-spectacular post-processing hook) so that a new operation cannot forget them."""

from .once import HEADER as ONCE_HEADER

ERROR_SCHEMA = {
    "type": "object",
    "description": "{\"detail\": message} for the request as a whole, or {field: [messages]} per field.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}

# What each app registers of its API from its registry (`register_api`): the 409s its rules can answer,
# its groups in the docs, which path segments belong to which group, and each operation's summary.
_CONFLICTS: set[tuple[str, str]] = set()  # (method, path): a stale version, an executed change, a row in use, …
_TAGS: dict[str, tuple[int, str]] = {}  # name → (its place in the docs, description)
_SEGMENT_TAGS: dict[str, str] = {}  # the first path segment after /api/v1/ (or /accounts/{account_id}/) → tag
_SUMMARIES: dict[str, str] = {}  # operation id → one-line summary


def register_api(*, tags=(), segments=None, summaries=None, conflicts=()) -> None:
    """An app's part of the API docs: `tags` as (place, name, description), `segments` {segment: tag},
    `summaries` {operation id: summary}, `conflicts` {(method, path)} whose rules can refuse with 409."""
    for place, name, description in tags:
        _TAGS[name] = (place, description)
    _SEGMENT_TAGS.update(segments or {})
    _SUMMARIES.update(summaries or {})
    _CONFLICTS.update(conflicts)


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
            if (method, path) in _CONFLICTS:
                answers["409"] = "Refused by the data as it is now: {detail} says why; nothing was saved."
            if method == "post":
                answers.setdefault("400", f"Invalid input, or a malformed {ONCE_HEADER}: nothing was saved.")
                answers["422"] = (f"The {ONCE_HEADER} header was used before for another request: nothing was done.")
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == ONCE_HEADER for p in parameters):
                    parameters.append(ONCE_PARAMETER)
            for code, description in answers.items():
                responses.setdefault(code, _error(description))
    return result


ONCE_PARAMETER = {
    "name": ONCE_HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$", "maxLength": 255},
    "description": "Makes the request happen once (SPEC §5): the same key again with the same request answers "
                   "the first answer (status and body, with `Idempotent-Replayed: true`) and does nothing; with "
                   "another request, 422. Keys are kept per user for at least 24 hours; 1 to 255 printable "
                   "ASCII characters (a UUID, say).",
}


def _tag_for(path: str) -> str:
    parts = [p for p in path.removeprefix("/api/v1/").split("/") if p and not p.startswith("{")]
    if parts[:1] == ["accounts"] and len(parts) > 1:
        parts = parts[1:]
    return _SEGMENT_TAGS[parts[0]]


def group_and_summarise(result, generator, request, public):
    """Operations grouped by resource (not one "v1" group) in the registered order, each with its summary."""
    result["tags"] = [{"name": name, "description": text}
                      for name, (_place, text) in sorted(_TAGS.items(), key=lambda item: item[1][0])]
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            operation["tags"] = [_tag_for(path)]
            operation.setdefault("summary", _SUMMARIES.get(operation.get("operationId"), ""))
    return result
