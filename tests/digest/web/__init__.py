"""Tests of digest/web: security headers and log masking."""
