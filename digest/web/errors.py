"""What a visitor sees when something behind the site fails: never a traceback. While the
database is away (a restart, a failover), a short page that says so, with 503 and a
Retry-After, so that browsers, crawlers and load balancers know it passes; anything else
is a plain 500 page. Both are rendered without the request's context: the session, the
user and the messages would each ask the database that just failed.
"""

from __future__ import annotations

import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while the exception is being handled."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        response = HttpResponse(render_to_string("errors/unavailable.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    else:
        response = HttpResponse(render_to_string("errors/server_error.html"), status=500)
    response["Cache-Control"] = "no-store"
    return response
