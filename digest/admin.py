"""Editor curation: papers (hide, pin, topics, notes) and topics."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Count, Prefetch, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from digest import tasks
from digest.mailing import previews
from digest.models import (
    Delivery,
    DeliveryPaper,
    Feedback,
    Paper,
    PaperSnapshot,
    PaperTopic,
    Topic,
)
from digest.papers import untagged
from digest.papers.ingestion.records import FORMATS
from digest.papers.topic_model import TopicWeights
from digest.papers.trending import paper_trending


class PaperTopicInline(admin.TabularInline):
    model = PaperTopic
    extra = 1
    fields = ("topic", "score", "source")
    readonly_fields = ("source",)
    autocomplete_fields = ("topic",)


class PaperSnapshotInline(admin.TabularInline):
    model = PaperSnapshot
    extra = 0
    fields = ("taken_at", "upvotes")
    readonly_fields = fields
    can_delete = False
    ordering = ("-taken_at",)
    verbose_name_plural = "Upvote history"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SourceFilter(admin.SimpleListFilter):
    title = "source"
    parameter_name = "source"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [(name, name) for name in FORMATS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in FORMATS:
            # JSON text contains the quoted name: portable across PostgreSQL and SQLite.
            return queryset.filter(sources__icontains=f'"{self.value()}"')
        return queryset


class TopicFilter(admin.RelatedOnlyFieldListFilter):
    """The topics papers have. Its unnamed "-" choice (no topic) is left out: HasTopicFilter
    says it in words."""

    include_empty_choice = False


class HasTopicFilter(admin.SimpleListFilter):
    """Papers with a topic, or with none at all (neither automatic nor an editor's): those
    no reader's topics bring."""

    title = "tagging"
    parameter_name = untagged.FILTER_PARAMETER

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [(untagged.WITH_TOPIC, "With a topic"), (untagged.NO_TOPIC, "No topic")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == untagged.NO_TOPIC:
            return queryset.filter(untagged.no_topic())
        if self.value() == untagged.WITH_TOPIC:
            return queryset.filter(~untagged.no_topic())
        return queryset


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    """Editors hide papers rather than delete them: a paper sent is part of its readers'
    history (their digests in the browser, their feeds), and nothing indexes the digests'
    papers by paper (see DeliveryPaper), so a deletion would read every digest's papers."""

    list_display = (
        "short_title",
        "upvotes",
        "trending",
        "topic_names",
        "featured_on",
        "published_on",
        "hidden",
        "pinned",
    )
    list_display_links = ("short_title",)
    list_filter = (
        ("topics", TopicFilter),
        HasTopicFilter,
        SourceFilter,
        "hidden",
        "pinned",
        ("featured_on", admin.DateFieldListFilter),
    )
    search_fields = ("title", "abstract", "arxiv_id", "authors", "organization")
    date_hierarchy = "featured_on"
    actions = ("hide", "unhide", "pin", "unpin", "retag")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    inlines = (PaperTopicInline, PaperSnapshotInline)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ("sources", "first_seen_at", "updated_at", "trending", "link")
    filter_horizontal = ("removed_topics",)
    fieldsets = (
        (None, {"fields": ("title", "link", "abstract")}),
        ("Curation", {"fields": ("hidden", "pinned", "editor_note", "removed_topics")}),
        (
            "From the feeds",
            {
                "fields": (
                    ("arxiv_id", "arxiv_version"),
                    ("authors", "author_count", "organization"),
                    ("published_on", "featured_on"),
                    ("upvotes", "num_comments", "trending"),
                    ("github_repo", "github_stars"),
                    ("project_page", "thumbnail"),
                    ("sources", "first_seen_at", "updated_at"),
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("topic_links", queryset=PaperTopic.objects.select_related("topic")),
                "snapshots",
            )
        )

    @admin.display(description="title", ordering="title")
    def short_title(self, paper: Paper) -> str:
        return Truncator(paper.title).chars(90)

    @admin.display(description="trending")
    def trending(self, paper: Paper) -> str:
        return f"{paper_trending(paper, timezone.now()):.2f}"

    @admin.display(description="topics")
    def topic_names(self, paper: Paper) -> str:
        links = sorted(paper.topic_links.all(), key=lambda link: -link.score)
        return ", ".join(link.topic.name for link in links)

    @admin.display(description="paper page")
    def link(self, paper: Paper) -> str:
        return paper.url

    def save_formset(self, request, form, formset: BaseInlineFormSet, change) -> None:
        if formset.model is not PaperTopic:
            return super().save_formset(request, form, formset, change)
        paper: Paper = form.instance
        # Whatever an editor touches here is the editor's: remembered over re-tagging.
        for link in formset.save(commit=False):
            link.source = PaperTopic.Source.EDITOR
            link.save()
            paper.removed_topics.remove(link.topic)
        for link in formset.deleted_objects:
            paper.removed_topics.add(link.topic)
            link.delete()
        return None

    @admin.action(description="Hide selected papers from digests and pages")
    def hide(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._flag(request, queryset, hidden=True)

    @admin.action(description="Unhide selected papers")
    def unhide(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._flag(request, queryset, hidden=False)

    @admin.action(description="Pin selected papers (first in their topics)")
    def pin(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._flag(request, queryset, pinned=True)

    @admin.action(description="Unpin selected papers")
    def unpin(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._flag(request, queryset, pinned=False)

    @admin.action(description="Re-tag selected papers with topics")
    def retag(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        transaction.on_commit(lambda: tasks.retag_papers.delay(ids))
        self.message_user(request, f"Re-tagging {len(ids)} paper(s).", messages.SUCCESS)

    def _flag(self, request: HttpRequest, queryset: QuerySet, **values: bool) -> None:
        count = queryset.update(**values, updated_at=timezone.now())
        self.message_user(request, f"Updated {count} paper(s).", messages.SUCCESS)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "active", "paper_count", "keywords")
    list_filter = ("active",)
    search_fields = ("name", "keywords", "description")
    prepopulated_fields = {"slug": ("name",)}
    actions = ("retag",)

    readonly_fields = ("digest_preview", "learned_terms")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(num_papers=Count("paper_links"))

    @admin.display(description="learned from labelled papers")
    def learned_terms(self, topic: Topic) -> str:
        """What the topic's classifier weighs most, so an editor sees why papers land here."""
        weights = TopicWeights.from_json(topic.weights) if topic.weights else None
        if weights is None:
            return "Nothing learned: tagged by its keywords (or, without any, its description)."
        terms = ", ".join(f"{term} ({weight:+.1f})" for term, weight in weights.strongest_terms(25))
        return (
            f"Strongest terms: {terms}. A keyword in the title adds {weights.keyword_title:+.1f}, "
            f"keywords in the abstract up to {weights.keyword_abstract:+.1f}. "
            "Refit with manage.py fit_topics."
        )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path(
                "suggestions/",
                view(lambda request: untagged.suggested_topics(request, self)),
                name="digest_topic_suggestions",
            ),
            path(
                "<path:object_id>/preview/",
                view(lambda request, object_id: previews.topic_preview(request, self, object_id)),
                name="digest_topic_preview",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="digest")
    def digest_preview(self, topic: Topic) -> str:
        if topic.pk is None:
            return "-"
        url = reverse("admin:digest_topic_preview", args=[topic.pk])
        return format_html('<a class="button" href="{}">Preview a digest of this topic</a>', url)

    @admin.display(description="papers", ordering="num_papers")
    def paper_count(self, topic: Topic) -> int:
        return topic.num_papers  # type: ignore[attr-defined]  # annotated by get_queryset

    def save_model(self, request, obj: Topic, form, change) -> None:
        super().save_model(request, obj, form, change)
        if {"keywords", "description", "name", "active"} & set(form.changed_data):
            topic_id = obj.pk
            transaction.on_commit(lambda: tasks.retag_topics.delay([topic_id]))
            self.message_user(request, f"Re-tagging papers for “{obj}” in the background.")

    @admin.action(description="Re-tag all papers for selected topics")
    def retag(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        transaction.on_commit(lambda: tasks.retag_topics.delay(ids))
        self.message_user(request, f"Re-tagging papers for {len(ids)} topic(s).", messages.SUCCESS)


class DeliveryPaperInline(admin.TabularInline):
    model = DeliveryPaper
    fields = ("position", "paper", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that code or readers own: editors look, nobody edits them here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """What went out, to whom, and why not: read-only, the senders own these rows."""

    list_display = ("period", "subscriber", "status", "sent_at", "paper_count", "short_error")
    list_filter = ("status", "created_at", "sent_at")
    search_fields = ("subscriber__email", "period", "message_id")
    date_hierarchy = "created_at"
    list_select_related = ("subscriber",)
    inlines = (DeliveryPaperInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(num_papers=Count("items"))

    @admin.display(description="papers", ordering="num_papers")
    def paper_count(self, delivery: Delivery) -> int:
        return delivery.num_papers  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="error or reason")
    def short_error(self, delivery: Delivery) -> str:
        return Truncator(delivery.last_error or delivery.skipped_reason).chars(80)


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    """Readers' ratings, read-only: they belong to the readers (who remove them on their
    preferences page); editors see which papers people want more or less of."""

    list_display = ("paper", "value", "subscriber", "created_at")
    list_filter = ("value", "created_at")
    search_fields = ("paper__title", "subscriber__email")
    date_hierarchy = "created_at"
    list_select_related = ("paper", "subscriber")
