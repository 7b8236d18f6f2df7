"""Forms validate; models and services act.

The signup form is a plain Form, not a ModelForm: a ModelForm would check the unique
email and say "already exists", which tells anyone who is on the list.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from digest.models import Topic
from digest.papers.names import normalize_name
from subscriptions.models import PAUSE_WEEKS, Frequency

# Kept with every consent record: which wording of the form the person agreed to.
# Change it whenever the form's promise (what we send, how often) changes.
FORM_VERSION = "signup-2025-11"

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
HOURS = [(h, f"{h:02d}:00") for h in range(24)]
MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 60
MAX_TOPICS = 50
MAX_FOLLOWS = 20  # authors, and organizations apart
MAX_NAME_LENGTH = 100
LIST_CHARS = 500  # what Subscriber.keywords, .authors and .organizations hold
NO_TOPIC = "Pick at least one topic, or follow an author or organization."


@cache
def _time_zones() -> dict[str, str]:
    """Every IANA name this system knows, looked up case-insensitively."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


class SingleLineEmailField(forms.EmailField):
    """An address; line breaks are refused before anything strips them (header injection)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def to_python(self, value: object) -> str:
        if isinstance(value, str) and ("\r" in value or "\n" in value):
            raise ValidationError("An email address cannot contain line breaks.", code="newline")
        return (super().to_python(value) or "").lower()


class TopicsField(forms.ModelMultipleChoiceField):
    def clean(self, value: object) -> QuerySet[Topic]:
        # Refuse absurd lists before they become a query.
        if isinstance(value, list | tuple) and len(value) > MAX_TOPICS:
            raise ValidationError("Too many topics.", code="too_many")
        return super().clean(value)


def tidy_list(
    value: str, *, each: str, plural: str, limit: int, chars: int, key: Callable[[str], str]
) -> str:
    """A comma-separated list with spacing tidied and repeats dropped (the first spelling
    is kept), or a ValidationError that says what is wrong with it."""
    items: list[str] = []
    seen: set[str] = set()
    for raw in value.split(","):
        item = " ".join(raw.split())
        if len(item) > chars:
            raise ValidationError(f"Keep each {each} under {chars} characters.", code="long")
        if item and key(item) not in seen:
            seen.add(key(item))
            items.append(item)
    if len(items) > limit:
        raise ValidationError(f"At most {limit} {plural}.", code="too_many")
    tidied = ", ".join(items)
    # "a,b" comes back as "a, b": what fitted the box may no longer fit the column.
    if len(tidied) > LIST_CHARS:
        raise ValidationError(
            f"Too long: at most {LIST_CHARS} characters, commas and spaces included.",
            code="too_long",
        )
    return tidied


def tidy_names(value: str, *, plural: str) -> str:
    """Followed names: like keywords, and a repeat is the same name however it is spelled."""
    tidied = tidy_list(
        value,
        each="name",
        plural=plural,
        limit=MAX_FOLLOWS,
        chars=MAX_NAME_LENGTH,
        key=normalize_name,
    )
    for name in tidied.split(", "):
        if name and not any(c.isalnum() for c in name):
            raise ValidationError(f"“{name}” is not a name: it has no letters.", code="no_name")
    return tidied


class PreferencesFields(forms.Form):
    """Everything a subscriber chooses, shared by signup and the preferences page."""

    # Not required on its own: following an author or organization is enough (clean()).
    topics = TopicsField(
        queryset=Topic.objects.filter(active=True),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    keywords = forms.CharField(
        required=False,
        max_length=LIST_CHARS,
        help_text="Optional, comma-separated: papers mentioning them rank higher.",
    )
    authors = forms.CharField(
        required=False,
        max_length=LIST_CHARS,
        label="Authors to follow",
        help_text="Optional, comma-separated full names, e.g. Yann LeCun, Fei-Fei Li: "
        "their new papers come whatever the topic.",
    )
    organizations = forms.CharField(
        required=False,
        max_length=LIST_CHARS,
        label="Organizations to follow",
        help_text="Optional, comma-separated, as Hugging Face names them, e.g. Google DeepMind, "
        "Meta AI: their new papers come whatever the topic.",
    )
    frequency = forms.ChoiceField(
        choices=Frequency.choices, initial=Frequency.DAILY, widget=forms.RadioSelect
    )
    weekday = forms.TypedChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        initial=0,
        required=False,
        empty_value=0,  # type: ignore[arg-type]  # any value is fine; the stubs say str
        help_text="For the weekly digest.",
    )
    send_hour = forms.TypedChoiceField(choices=HOURS, coerce=int, initial=7, label="Send at")
    timezone = forms.CharField(
        max_length=64, initial="UTC", label="Time zone", help_text="For example Europe/Berlin."
    )
    max_papers = forms.IntegerField(min_value=5, max_value=30, initial=10, label="Papers per email")

    def __init__(self, *args: object, topic_list: list[Topic] | None = None, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if topic_list is not None:
            # Topics the page already loaded: rendering the form runs no query of its own.
            topics = self.fields["topics"]
            assert isinstance(topics, forms.ChoiceField)
            topics.choices = [(t.slug, t.name) for t in topic_list]

    def clean_keywords(self) -> str:
        return tidy_list(
            self.cleaned_data["keywords"],
            each="keyword",
            plural="keywords",
            limit=MAX_KEYWORDS,
            chars=MAX_KEYWORD_LENGTH,
            key=str.lower,
        )

    def clean_authors(self) -> str:
        return tidy_names(self.cleaned_data["authors"], plural="authors")

    def clean_organizations(self) -> str:
        return tidy_names(self.cleaned_data["organizations"], plural="organizations")

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        # Only when every field involved is valid: an error there is what to fix first.
        if any(self.has_error(name) for name in ("topics", "authors", "organizations")):
            return cleaned
        if not cleaned.get("topics") and not cleaned["authors"] and not cleaned["organizations"]:
            self.add_error("topics", ValidationError(NO_TOPIC, code="required"))
        return cleaned

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        name = _time_zones().get(value.lower())
        if name is None:
            raise ValidationError(
                "Unknown time zone: use a name like Europe/Berlin or America/New_York.",
                code="unknown",
            )
        return name

    def preferences(self) -> dict[str, object]:
        """The cleaned choices, ready for Subscriber fields (topics as a list)."""
        data = self.cleaned_data
        return {
            "topics": list(data["topics"]),
            "keywords": data["keywords"],
            "authors": data["authors"],
            "organizations": data["organizations"],
            "frequency": data["frequency"],
            "weekday": data["weekday"],
            "send_hour": data["send_hour"],
            "timezone": data["timezone"],
            "max_papers": data["max_papers"],
        }


class SignupForm(PreferencesFields):
    email = SingleLineEmailField(
        label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    # The honeypot: hidden from people (CSS, aria-hidden), irresistible to form-filling bots.
    website = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    field_order = [
        "email",
        "topics",
        "keywords",
        "authors",
        "organizations",
        "frequency",
        "weekday",
        "send_hour",
        "timezone",
        "max_papers",
        "website",
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # A few lines of JavaScript fill this from the browser (it only replaces "UTC").
        self.fields["timezone"].widget.attrs["data-browser-timezone"] = ""


class PreferencesForm(PreferencesFields):
    email = SingleLineEmailField(
        label="Email", help_text="Change it and we send a link to the new address to confirm it."
    )

    field_order = SignupForm.field_order[:-1]


class EmailForm(forms.Form):
    """Asks for an address to send a fresh link to."""

    email = SingleLineEmailField(label="Email")


class PauseForm(forms.Form):
    weeks = forms.TypedChoiceField(choices=[(w, f"{w} weeks") for w in PAUSE_WEEKS], coerce=int)


class DropTopicForm(forms.Form):
    topic = forms.SlugField(max_length=100)


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, delete my subscription and everything stored about me."
    )
