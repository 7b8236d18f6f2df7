"""Subscribers for the people who run the list: find, filter, act, export.

Nobody is added or activated by hand: subscribing takes the person's own confirmation,
so the admin cannot create subscribers or edit their status or consent record.
"""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from subscriptions import services, webhooks
from subscriptions.models import EmailEvent, Subscriber, Suppression, email_hash

CONSENT_FIELDS = (
    "signed_up_at",
    "signup_ip",
    "signup_user_agent",
    "form_version",
    "confirmed_at",
    "confirm_ip",
)
CSV_COLUMNS = (
    "email",
    "status",
    "frequency",
    "weekday",
    "send_hour",
    "timezone",
    "max_papers",
    "keywords",
    "authors",
    "organizations",
    "paused_until",
    *CONSENT_FIELDS,
    "unsubscribed_at",
    "unsubscribe_reason",
)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "status",
        "frequency",
        "send_hour",
        "timezone",
        "topic_count",
        "signed_up_at",
        "confirmed_at",
    )
    list_filter = ("status", "frequency", "topics", "timezone")
    search_fields = ("email",)
    date_hierarchy = "signed_up_at"
    filter_horizontal = ("topics",)
    readonly_fields = (
        "digest_preview",
        "status",
        *CONSENT_FIELDS,
        "unsubscribed_at",
        "unsubscribe_reason",
        "soft_bounces",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "email",
                    "status",
                    "digest_preview",
                    "topics",
                    "keywords",
                    "authors",
                    "organizations",
                )
            },
        ),
        (
            "Schedule",
            {
                "fields": (
                    "frequency",
                    "weekday",
                    "send_hour",
                    "timezone",
                    "max_papers",
                    "paused_until",
                )
            },
        ),
        ("Consent record", {"fields": CONSENT_FIELDS}),
        ("Leaving", {"fields": ("unsubscribed_at", "unsubscribe_reason", "soft_bounces")}),
        ("Row", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    actions = ("resend_confirmation", "unsubscribe", "export_csv")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).annotate(topic_total=Count("topics"))

    @admin.display(description="topics", ordering="topic_total")
    def topic_count(self, obj: Subscriber) -> int:
        return obj.topic_total  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Subscriber, form: object, change: bool) -> None:
        # An editor may change the hour, day, frequency, time zone or pause.
        obj.schedule_changed()
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list:
        from digest.mailing import previews

        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/preview/",
                view(
                    lambda request, object_id: previews.subscriber_preview(request, self, object_id)
                ),
                name="subscriptions_subscriber_preview",
            ),
            path(
                "<path:object_id>/send-test/",
                view(
                    lambda request, object_id: previews.subscriber_send_test(
                        request, self, object_id
                    )
                ),
                name="subscriptions_subscriber_send_test",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="digest")
    def digest_preview(self, obj: Subscriber) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:subscriptions_subscriber_preview", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">Preview digest</a> (and send me a test)', url
        )

    @admin.action(description="Resend the confirmation email (pending only)")
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        pending = list(queryset.filter(status=Subscriber.Status.PENDING))
        for subscriber in pending:
            services.send_confirmation(subscriber)
        skipped = queryset.count() - len(pending)
        self.message_user(
            request,
            f"Sent {len(pending)} confirmation email(s); skipped {skipped} not pending.",
            messages.SUCCESS,
        )

    @admin.action(description="Unsubscribe")
    def unsubscribe(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        done = sum(s.unsubscribe(f"by {request.user} in admin") for s in queryset)
        self.message_user(request, f"Unsubscribed {done} subscriber(s).", messages.SUCCESS)

    @admin.action(description="Export as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse:
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow([*CSV_COLUMNS, "topics"])
        for s in queryset.prefetch_related("topics").order_by("email"):
            topics = " ".join(t.slug for t in s.topics.all())
            writer.writerow([_csv_safe(getattr(s, c)) for c in CSV_COLUMNS] + [topics])
        return response


def _csv_safe(value: object) -> str:
    """No formula injection when the file is opened in a spreadsheet."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email_hash", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email_hash",)
    readonly_fields = ("created_at",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Suppression], search_term: str
    ) -> tuple[QuerySet[Suppression], bool]:
        # Editors search by address; only its hash is stored.
        if "@" in search_term:
            return queryset.filter(email_hash=email_hash(search_term)), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(EmailEvent)
class EmailEventAdmin(admin.ModelAdmin):
    """What the ESPs reported, as received: nobody edits it."""

    list_display = (
        "received_at",
        "esp",
        "event_type",
        "effect",
        "subscriber",
        "delivery",
        "processed",
    )
    list_filter = ("effect", "event_type", "esp", ("processed_at", admin.EmptyFieldListFilter))
    search_fields = ("message_id", "event_id", "recipient_hash")
    date_hierarchy = "received_at"
    list_select_related = ("subscriber", "delivery")
    actions = ("apply_again",)

    @admin.display(description="applied", boolean=True)
    def processed(self, obj: EmailEvent) -> bool:
        return obj.processed_at is not None

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[EmailEvent], search_term: str
    ) -> tuple[QuerySet[EmailEvent], bool]:
        # Only the recipient's hash is stored; an address is searched by its hash.
        if "@" in search_term:
            return queryset.filter(recipient_hash=email_hash(search_term)), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EmailEvent | None = None) -> bool:
        return False

    def has_apply_permission(self, request: HttpRequest) -> bool:
        # Applying an event changes a subscriber: the same right as editing one.
        return request.user.has_perm("subscriptions.change_subscriber")

    @admin.action(
        description="Apply the events not applied yet (a lost task)", permissions=["apply"]
    )
    def apply_again(self, request: HttpRequest, queryset: QuerySet[EmailEvent]) -> None:
        pending = list(queryset.filter(processed_at__isnull=True).values_list("pk", flat=True))
        applied = sum(webhooks.apply_event(pk) for pk in pending)
        self.message_user(request, f"Applied {applied} event(s).", messages.SUCCESS)
