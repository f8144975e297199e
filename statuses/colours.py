"""One colour per back-end status, for every badge and the statistics chart: a Bootstrap 5.3 theme colour
(the badge's `text-bg-<name>` class) and the same colour as hex (for the chart, drawn on the server)."""

from statuses.rules import BackendStatus

# Bootstrap 5.3's default theme colours.
THEME_HEX = {"success": "#198754", "danger": "#dc3545", "primary": "#0d6efd", "warning": "#ffc107"}

STATUS_COLOURS: dict[str, str] = {
    BackendStatus.ACTIVE: "success",
    BackendStatus.SUSPENDED: "warning",
    BackendStatus.CANCELLED: "danger",
    BackendStatus.PROSPECT: "primary",
}


def badge_class(backend_status: str) -> str:
    return f"text-bg-{STATUS_COLOURS.get(backend_status, 'secondary')}"


def chart_hex(backend_status: str) -> str:
    return THEME_HEX[STATUS_COLOURS[backend_status]]
