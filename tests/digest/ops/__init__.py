"""Tests of digest/ops: the dashboard and the health check."""
