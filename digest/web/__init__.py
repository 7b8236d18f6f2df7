"""Web process glue: security headers and log masking, gunicorn logging, the development server.

Imports Django and settings only; no domain module."""
