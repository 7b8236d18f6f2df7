"""Taste: what readers rated, features of papers, the classifier learned per reader, the
papers a new reader rates, the feedback page.

Imports models and pure helpers; only the feedback page (web layer) queues tasks."""
