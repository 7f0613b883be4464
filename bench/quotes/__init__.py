"""Quote-check benchmark (issue 24): see __main__.py; the drafts it checks are made in drafts.py."""
