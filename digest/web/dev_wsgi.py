"""WSGI entry point for `make dev`: the project, plus the admin's CSS and JavaScript.

gunicorn serves no static files. In development, Django's StaticFilesHandler finds them
through the staticfiles finders, as runserver does: no collectstatic and no settings change.
Production serves STATIC_ROOT (after collectstatic) from the web server in front instead.
"""

from __future__ import annotations

from django.contrib.staticfiles.handlers import StaticFilesHandler

from digest.wsgi import application as project_application

application = StaticFilesHandler(project_application)
