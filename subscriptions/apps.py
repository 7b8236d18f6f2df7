from __future__ import annotations

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import tracking
        from django.core import checks

        from subscriptions import webhooks

        # dispatch_uid: connected once, however often ready() runs.
        tracking.connect(
            webhooks.record_tracking_event, dispatch_uid="subscriptions.record_tracking_event"
        )
        checks.register(webhooks.check_webhook_secret, checks.Tags.security, deploy=True)
