"""The alerts button's one server-side value: this installation's VAPID public key (empty when alerts are off)."""

from django import template

from readers import webpush

register = template.Library()


@register.simple_tag
def alerts_public_key() -> str:
    return webpush.public_key()
