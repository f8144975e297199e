"""{% two_factor_state user as state %}: whether the user has two-factor sign-in on, for the /me/ card."""

from django import template

from engage import two_factor

register = template.Library()


@register.simple_tag
def two_factor_state(user) -> dict:
    on = two_factor.is_enrolled(user)
    return {"on": on, "codes_left": two_factor.recovery_codes_left(user) if on else 0}
