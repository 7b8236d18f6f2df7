from __future__ import annotations

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from subscriptions import webhooks

        # The tracking signal's receiver queues a task: it is connected by the URLconf that
        # routes anymail's webhook views (digest/urls.py), since only the web layer and
        # task modules import tasks.
        checks.register(webhooks.check_webhook_secret, checks.Tags.security, deploy=True)
