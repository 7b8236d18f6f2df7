"""Ingestion: fetch a feed, detect its format, parse entries into records, store them.

Imports models, topics and the standard library; nothing that sends or schedules."""
