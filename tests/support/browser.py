"""Shared setup for tests that drive a real Chromium: launch flags, a fake microphone, logins."""

from __future__ import annotations

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
