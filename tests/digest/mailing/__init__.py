"""Tests of digest/mailing: periods, planning, selection, messages, dispatch."""
