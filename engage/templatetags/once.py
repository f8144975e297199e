"""{% once_token %}: a one-time token in a form that writes, so that it is submitted once (engage/once.py)."""

import uuid

from django import template
from django.utils.html import format_html

from ..once import FORM_FIELD

register = template.Library()


@register.simple_tag
def once_token():
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, uuid.uuid4().hex)
