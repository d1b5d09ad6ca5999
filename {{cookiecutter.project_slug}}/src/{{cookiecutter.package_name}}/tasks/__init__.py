"""The service's tasks. The worker loads every module in this package; none needs registering."""
{%- if cookiecutter.examples == "yes" %}

from .examples import charge_card, deliver_webhook, fetch_profile, sync_to_crm

__all__ = ["charge_card", "deliver_webhook", "fetch_profile", "sync_to_crm"]
{%- endif %}
