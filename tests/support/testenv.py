"""Loaded with -p before Django starts: the suite's own data folder (one per worker under pytest -n), made as
the run command makes it, and plain-HTTP test client."""

import os
from pathlib import Path

from liveblog_site import datadir

_root = Path(__file__).resolve().parents[2]
os.environ.setdefault("LIVEBLOG_DATA_DIR", str(_root / "var" / "test"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest -n: each worker its own folder (file cache, embedded broker, archive, SQLite), as another machine's.
    os.environ["LIVEBLOG_DATA_DIR"] = str(Path(os.environ["LIVEBLOG_DATA_DIR"]) / os.environ["PYTEST_XDIST_WORKER"])
os.environ.setdefault("HTTPS", "false")
for name in ("DEEPGRAM_API_KEY", "MAVERA_API_KEY", "SPEECH_BACKEND", "DRAFTER"):
    os.environ.pop(name, None)
datadir.prepare()
