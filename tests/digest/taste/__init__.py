"""Tests of digest/taste: ratings, profiles, the feedback page."""
