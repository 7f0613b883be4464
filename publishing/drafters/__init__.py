"""Drafting backends: Mavera over HTTP (mavera.py) or the offline extractive drafter (offline.py), behind
the interface in base.py; settings.DRAFTER names the one in use."""
