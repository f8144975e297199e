"""{% panels "accounts.overview" account %}: the cards the apps registered for a page (engage/panels.py), each
drawn as an {% include %} would be, in the page's own context plus what the panel adds."""

from django import template
from django.utils.safestring import mark_safe

from ..panels import panels_for

register = template.Library()


@register.simple_tag(takes_context=True)
def panels(context, page: str, obj):
    html = []
    for panel in panels_for(page):
        with context.push(**panel.context(obj, context.get("request"))):
            html.append(context.template.engine.get_template(panel.template_name).render(context))
    return mark_safe("\n".join(html))
