"""Drafting pipeline benchmark: see __main__.py."""
