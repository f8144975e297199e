"""What statuses registers with the ground: the objects its Setup services record in the audit log, and its
part of the API docs."""

from engage.api_schema import register_api
from engage.audit import register_audit
from engage.roles import register_role_permissions

from .models import AccountStatusType, StatusReason

register_audit(audited=(AccountStatusType, StatusReason))
register_api(
    tags=[(70, "Status types", "Setup: the operator's Account Status Types (Administrators)."),
          (80, "Status reasons", "Setup: the reasons given for a cancel or suspend (Administrators).")],
    segments={"status-types": "Status types", "status-reasons": "Status reasons"},
    summaries={
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
    },
    conflicts={("delete", "/api/v1/status-types/{id}/"), ("delete", "/api/v1/status-reasons/{id}/")},
)
register_role_permissions("statuses", support=["view"])
