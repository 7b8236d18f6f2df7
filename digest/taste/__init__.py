"""Taste: what readers rated, features of papers, the profile learned per reader, the feedback page.

Imports models and pure helpers; only the feedback page (web layer) queues tasks."""
