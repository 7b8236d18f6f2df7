"""Subscriptions: the people on the list, signup and preferences, tokens, webhooks, rate limits.

Imports digest models, the pure name helpers and message building; only its views queue tasks."""
