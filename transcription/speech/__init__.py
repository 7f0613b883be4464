"""Speech backends: Deepgram over a WebSocket (deepgram.py) or pocketsphinx on this machine (offline.py),
behind the interface in base.py; settings.SPEECH_BACKEND names the one in use."""
