"""Signed tokens: one salt per purpose, bound to the address, compact and URL-safe."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from subscriptions import tokens

SALTS = [
    tokens.SALT_CONFIRM,
    tokens.SALT_PREFERENCES,
    tokens.SALT_UNSUBSCRIBE,
    tokens.SALT_EMAIL_CHANGE,
    tokens.SALT_VIEW_IN_BROWSER,
    tokens.SALT_FEEDBACK,
    tokens.SALT_PERSONAL_FEED,
]


def test_every_purpose_has_its_own_salt():
    assert len(set(SALTS)) == len(SALTS)


@pytest.mark.parametrize("salt", [tokens.SALT_CONFIRM, tokens.SALT_PREFERENCES])
def test_tokens_are_url_safe_and_short(salt):
    token = tokens.make_token(salt, 123456, "someone@example.com")

    assert re.fullmatch(r"[A-Za-z0-9_.:-]+", token)
    assert len(token) < 90


def test_a_token_reads_back_to_its_subscriber():
    token = tokens.make_token(tokens.SALT_PREFERENCES, 42, "Alice@Example.com")

    subject = tokens.read_token(tokens.SALT_PREFERENCES, token)

    assert subject == tokens.TokenSubject(
        pk=42, fingerprint=tokens.fingerprint("alice@example.com")
    )


@pytest.mark.parametrize("other", [tokens.SALT_PREFERENCES, tokens.SALT_UNSUBSCRIBE])
def test_a_token_for_one_purpose_is_invalid_for_another(other):
    token = tokens.make_token(tokens.SALT_CONFIRM, 1, "a@example.com")

    with pytest.raises(tokens.TokenInvalid):
        tokens.read_token(other, token)


def test_confirm_tokens_expire_after_seven_days_and_others_never():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        confirm = tokens.make_token(tokens.SALT_CONFIRM, 1, "a@example.com")
        preferences = tokens.make_token(tokens.SALT_PREFERENCES, 1, "a@example.com")
        traveller.shift(timedelta(days=7, seconds=1))

        with pytest.raises(tokens.TokenExpired):
            tokens.read_token(tokens.SALT_CONFIRM, confirm)
        traveller.shift(timedelta(days=3650))
        assert tokens.read_token(tokens.SALT_PREFERENCES, preferences).pk == 1


def test_a_token_signed_with_another_secret_is_invalid(settings):
    token = tokens.make_token(tokens.SALT_UNSUBSCRIBE, 1, "a@example.com")
    settings.SECRET_KEY = "a-different-secret-key-for-this-test-only-0123456789"

    with pytest.raises(tokens.TokenInvalid):
        tokens.read_token(tokens.SALT_UNSUBSCRIBE, token)


def test_tokens_survive_key_rotation_with_fallbacks(settings):
    token = tokens.make_token(tokens.SALT_UNSUBSCRIBE, 1, "a@example.com")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-different-secret-key-for-this-test-only-0123456789"

    assert tokens.read_token(tokens.SALT_UNSUBSCRIBE, token).pk == 1


@pytest.mark.parametrize("salt", SALTS)
@pytest.mark.parametrize("value", ["42.0123456789abcdef", "7.fedcba9876543210.1234", "é€ 𝛑"])
def test_our_signing_is_exactly_djangos(salt, value, settings, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.5)
    for secret in ("first-secret-key-for-this-test", "another one, after a rotation"):
        settings.SECRET_KEY = secret

        assert tokens.sign(salt, value) == signing.Signer(salt=salt).sign(value)
        assert tokens.signature(salt, value) == signing.Signer(salt=salt).signature(value)
        theirs = signing.TimestampSigner(salt=salt)
        assert tokens.sign_timestamped(salt, value) == theirs.sign(value)
        assert theirs.unsign(tokens.sign_timestamped(salt, value)) == value
