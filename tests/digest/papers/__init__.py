"""Tests of digest/papers: ingestion, topics, trending, the public pages."""
