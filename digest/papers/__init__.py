"""Papers: ingestion of the feeds, topics and tagging, trending, the public pages and Atom feeds.

Imports models and pure helpers; its views may use the subscription form. Never mailing or tasks."""
