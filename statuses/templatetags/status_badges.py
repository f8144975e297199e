"""{% status_badge backend_status %}: the back-end status as a coloured badge, the same on every page."""

from django import template
from django.utils.html import format_html

from statuses.colours import badge_class
from statuses.rules import BackendStatus

register = template.Library()


@register.simple_tag
def status_badge(backend_status: str, label: str | None = None) -> str:
    """A badge in the status's colour; the label defaults to the back-end status's own ("Suspended")."""
    if label is None:
        label = BackendStatus(backend_status).label if backend_status in BackendStatus.values else backend_status
    return format_html(
        '<span class="badge rounded-pill {}" data-backend-status="{}">{}</span>',
        badge_class(backend_status), backend_status, label,
    )
