"""Signed tokens for the links in our emails: one salt per purpose.

A token signed for one purpose never opens another (a preferences token is no unsubscribe
token), and every token names its row by primary key (the subscriber's, or for "view in
browser" the delivery's) *and* a short hash of the address it was sent to, so it dies when
the address changes and cannot be pointed at another row. Tokens are
`<pk>.<hash>:<signature>` (plus a timestamp for expiring ones): URL-safe and short enough
for a plain-text email.

Two carry a timestamp for another reason:
- "view in browser" (`<delivery id>.<hash>:<time>:<signature>`) shows a whole digest with
  fresh links, so it also expires, after VIEW_IN_BROWSER_MAX_AGE;
- unsubscribe: an opt-out must keep working for the person it was sent to at least 30 days
  after the send (CAN-SPAM), even if they changed their address since. Within
  UNSUBSCRIBE_AFTER_CHANGE_MAX_AGE of its making, it still unsubscribes its reader after a
  change; it only ever unsubscribes, never opens their preferences.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes

SALT_CONFIRM = "subscriptions.confirm"
SALT_PREFERENCES = "subscriptions.preferences"
SALT_UNSUBSCRIBE = "subscriptions.unsubscribe"
SALT_EMAIL_CHANGE = "subscriptions.email-change"
# The digest's "view in browser" and feedback links.
SALT_VIEW_IN_BROWSER = "digest.view-in-browser"
SALT_FEEDBACK = "digest.taste.views"
# A reader's digests as an Atom feed, at a URL they keep (and never see expire).
SALT_PERSONAL_FEED = "digest.personal-feed"

CONFIRM_MAX_AGE = timedelta(days=7)
EMAIL_CHANGE_MAX_AGE = timedelta(days=7)
VIEW_IN_BROWSER_MAX_AGE = timedelta(days=90)
# The law asks for 30 days after the send; digests are built when sent, so the token's
# time is the send's. Twice that, for readers who are slow to open their mail.
UNSUBSCRIBE_AFTER_CHANGE_MAX_AGE = timedelta(days=60)
_TIMESTAMPED = (SALT_CONFIRM, SALT_UNSUBSCRIBE)

# 64 bits of the address's hash: enough to tell addresses apart, and the signature (not
# this hash) is what makes a token unforgeable.
_FINGERPRINT_CHARS = 16


# Signing as Django's Signer and TimestampSigner do (SECRET_KEY, sha256, ":" between the
# parts), without their cost at the rate a digest makes links: building a signer reads
# five settings and checks its separator (6 us), and OpenSSL's one-shot HMAC sets up its
# digest again each time (4 us). Here the key's derivation and both HMAC pads are hashed
# once per salt and secret, and each signature copies them (RFC 2104: what the hmac
# module does in Python). Tokens are read back by Django's own signers, so a difference
# could not go unnoticed (and a test compares the two).
def sign(salt: str, value: str) -> str:
    """signing.Signer(salt=salt).sign(value)."""
    return f"{value}:{signature(salt, value)}"


def sign_timestamped(salt: str, value: str) -> str:
    """signing.TimestampSigner(salt=salt).sign(value): the time, then the signature."""
    return sign(salt, f"{value}:{signing.b62_encode(int(time.time()))}")


def signature(salt: str, value: str) -> str:
    """signing.Signer(salt=salt).signature(value)."""
    inner, outer = _pads(salt, settings.SECRET_KEY)
    inner = inner.copy()
    inner.update(value.encode())
    outer = outer.copy()
    outer.update(inner.digest())
    return signing.b64_encode(outer.digest()).decode()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


@lru_cache(maxsize=32)
def _pads(salt: str, secret: str) -> tuple[Any, Any]:
    # The key as Signer.signature and django.utils.crypto.salted_hmac derive it:
    # sha256(salt + "signer" + secret), as long as sha256's 64-byte block once padded.
    key = hashlib.sha256(force_bytes(salt) + b"signer" + force_bytes(secret)).digest()
    key = key.ljust(hashlib.sha256().block_size, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


class TokenExpired(Exception):
    """The signature is good but the token is older than its purpose allows."""


class TokenInvalid(Exception):
    """Tampered, truncated, or signed for another purpose."""


@dataclass(frozen=True)
class TokenSubject:
    pk: int
    fingerprint: str


def fingerprint(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:_FINGERPRINT_CHARS]


def make_token(salt: str, pk: int, email: str) -> str:
    value = f"{pk}.{fingerprint(email)}"
    if salt in _TIMESTAMPED:
        return sign_timestamped(salt, value)
    return sign(salt, value)


def read_token(salt: str, token: str) -> TokenSubject:
    """Who the token was made for; raises TokenExpired or TokenInvalid."""
    if salt == SALT_UNSUBSCRIBE:
        return read_unsubscribe_token(token)[0]
    try:
        if salt == SALT_CONFIRM:
            value = signing.TimestampSigner(salt=salt).unsign(token, max_age=CONFIRM_MAX_AGE)
        else:
            value = signing.Signer(salt=salt).unsign(token)
    except signing.SignatureExpired:
        raise TokenExpired from None
    except signing.BadSignature:
        raise TokenInvalid from None
    return _subject(value)


def _subject(value: str) -> TokenSubject:
    pk, _, fp = value.partition(".")
    if not pk.isdigit() or len(fp) != _FINGERPRINT_CHARS:
        raise TokenInvalid
    return TokenSubject(pk=int(pk), fingerprint=fp)


def read_unsubscribe_token(token: str) -> tuple[TokenSubject, datetime | None]:
    """Who an unsubscribe token was made for, and when (None for the links made before
    they carried a time: they work while the address is unchanged). Raises TokenInvalid."""
    try:
        value = signing.Signer(salt=SALT_UNSUBSCRIBE).unsign(token)
    except signing.BadSignature:
        raise TokenInvalid from None
    value, _, stamp = value.partition(":")
    made_at = None
    if stamp:
        try:
            made_at = datetime.fromtimestamp(signing.b62_decode(stamp), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise TokenInvalid from None
    return _subject(value), made_at


def make_view_token(delivery_id: int, email: str) -> str:
    """The digest's "view in browser" link: that digest, for the address it went to."""
    value = f"{delivery_id}.{fingerprint(email)}"
    return sign_timestamped(SALT_VIEW_IN_BROWSER, value)


def read_view_token(token: str) -> TokenSubject:
    """The delivery (as pk) and the address hash; raises TokenExpired or TokenInvalid.

    Links made before they carried the address and a time (`<id>:<signature>`) are invalid.
    """
    signer = signing.TimestampSigner(salt=SALT_VIEW_IN_BROWSER)
    try:
        value = signer.unsign(token, max_age=VIEW_IN_BROWSER_MAX_AGE)
    except signing.SignatureExpired:
        raise TokenExpired from None
    except (signing.BadSignature, ValueError):
        raise TokenInvalid from None
    return _subject(value)


def make_feedback_tokens(pk: int, email: str, paper_ids: Iterable[int]) -> dict[int, str]:
    """One token per paper of a digest: it names the reader and the paper, and only those.

    The choice ("more" or "less") is in the link's path, outside the signature: one token
    serves both links, and a reader may change their mind on the page it opens.
    """
    prefix = f"{pk}.{fingerprint(email)}"
    return {paper_id: sign(SALT_FEEDBACK, f"{prefix}.{paper_id}") for paper_id in paper_ids}


def read_feedback_token(token: str) -> tuple[TokenSubject, int]:
    """Who the feedback token was made for, and for which paper; raises TokenInvalid."""
    try:
        value = signing.Signer(salt=SALT_FEEDBACK).unsign(token)
    except signing.BadSignature:
        raise TokenInvalid from None
    parts = value.split(".")
    if len(parts) != 3:
        raise TokenInvalid
    pk, fp, paper_id = parts
    if not pk.isdigit() or not paper_id.isdigit() or len(fp) != _FINGERPRINT_CHARS:
        raise TokenInvalid
    return TokenSubject(pk=int(pk), fingerprint=fp), int(paper_id)


def make_email_change_token(pk: int, old_email: str, new_email: str) -> str:
    """Sent to the new address: opening it proves the new mailbox belongs to this person."""
    return signing.dumps(
        [pk, fingerprint(old_email), new_email], salt=SALT_EMAIL_CHANGE, compress=True
    )


def read_email_change_token(token: str) -> tuple[TokenSubject, str]:
    try:
        pk, fp, new_email = signing.loads(
            token, salt=SALT_EMAIL_CHANGE, max_age=EMAIL_CHANGE_MAX_AGE
        )
    except signing.SignatureExpired:
        raise TokenExpired from None
    except (signing.BadSignature, ValueError, TypeError):
        raise TokenInvalid from None
    if not isinstance(pk, int) or not isinstance(fp, str) or not isinstance(new_email, str):
        raise TokenInvalid
    return TokenSubject(pk=pk, fingerprint=fp), new_email
