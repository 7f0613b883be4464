"""Shared setup for tests that drive a real Chromium: launch flags, a fake microphone, logins."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def speech_wav(path: Path, sentences: list[str], *, gap_seconds: float = 1.5) -> Path:
    """The sentences spoken by espeak-ng, as a 16 kHz mono 16-bit WAV with a pause after each."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed: run scripts/test.sh")
    parts = []
    for n, sentence in enumerate(sentences):
        raw = path.with_name(f"{path.stem}-{n}.espeak.wav")
        part = path.with_name(f"{path.stem}-{n}.wav")
        subprocess.run(["espeak-ng", "-v", "en-us+klatt2", "-s", "130", "-w", str(raw), sentence], check=True)
        subprocess.run(
            ["sox", "-q", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(part), "pad", "1", str(gap_seconds)],
            check=True,
        )
        parts.append(str(part))
    subprocess.run(["sox", "-q", *parts, "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True)
    return path


def launch(playwright: Playwright, *, microphone: Path | None = None) -> Browser:
    """Debian's Chromium (never a downloaded one); with `microphone`, a fake device playing that WAV once."""
    args = list(CHROMIUM_ARGS)
    if microphone is not None:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone.resolve()}%noloop",
        ]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


def log_in(context: BrowserContext, base_url: str, username: str, password: str, *, admin: bool = False) -> Page:
    """Log in through the site's own form, as a person would; returns the page, left on the landing page."""
    page = context.new_page()
    page.goto(f"{base_url}/admin/login/" if admin else f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("input[type=submit]" if admin else "button[type=submit]")
    return page
