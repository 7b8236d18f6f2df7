"""Mailing: periods, planning, the candidate pool, selection, message building, rendering, dispatch.

Imports models, papers, taste and subscriptions; never tasks (callers queue the work it returns)."""
