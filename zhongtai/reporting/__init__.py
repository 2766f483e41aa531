"""Summaries of what a run produced, for the console and for tests."""
