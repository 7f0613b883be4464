"""The accessibility audit in a real page: axe-core from its npm package (package.json at the repo root,
installed by scripts/test.sh), WCAG 2.1 A and AA rules."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def audit(page: Page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it stands. The page's context needs bypass_csp=True:
    the strict CSP refuses the injected script, as it should any other."""
    if not AXE_SCRIPT.exists():
        raise FileNotFoundError(f"{AXE_SCRIPT} is missing: run `npm ci` at the repo root (scripts/test.sh does)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_21_AA,
    )
    return result["violations"]


def blocking(violations: list[dict]) -> list[str]:
    """The serious and critical violations, one readable line per element."""
    return [
        f"{item['impact']} {item['id']}: {item['help']} at {node['target']}: {node.get('failureSummary', '')}"
        for item in violations
        if item["impact"] in BLOCKING
        for node in item["nodes"]
    ]
