"""Cards an app puts on another app's page, the way NetBox's PluginTemplateExtension does: the page draws what
is registered for it (`{% panels "accounts.overview" account %}`), so no page loads a tag or a template of an
app above it, and the ground names no app. Billing, provisioning and collections each register their card on
the account Overview from their registry."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    page: str  # the page it goes on: "accounts.overview"
    order: int  # its place among the page's panels (lower first)
    template_name: str
    # What its template needs of the page's object (the account), beside the page's own context.
    context: Callable[..., dict] = lambda obj, request: {}


_PANELS: list[Panel] = []


def register_panel(panel: Panel) -> None:
    """Called from an app's registry (AppConfig.ready())."""
    if panel not in _PANELS:
        _PANELS.append(panel)


def panels_for(page: str) -> list[Panel]:
    return sorted((p for p in _PANELS if p.page == page), key=lambda p: p.order)
