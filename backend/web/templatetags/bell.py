"""The header's bell: the person's unread count, one indexed COUNT per page (or none, when the page
counted already: the notification list passes `bell_count`)."""

from typing import Any

from django import template

from notifications import selectors

register = template.Library()


@register.inclusion_tag("web/partials/bell.html", takes_context=True)
def bell(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {"bell_count": None}
    count = context.get("bell_count")
    if count is None:
        count = selectors.unread_count(user=user)
    return {"bell_count": count}
