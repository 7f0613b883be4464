"""The German catalogs are complete and compiled: makemessages, run as the README says on a copy of the code, finds
no msgid the committed .po lacks (nor one it has for nothing), every msgid has a translation that is not fuzzy,
and the committed .mo files are what msgfmt makes of the .po files."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import child_env
from tests.support.pseudo import entries, is_fuzzy

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "locale" / "de" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")
LEFT_OUT_OF_THE_COPY = shutil.ignore_patterns(".*", "var", "node_modules", "bench", "tests", "__pycache__", "*.mo")


def documented_commands() -> list[list[str]]:
    """The README's makemessages commands, one a domain, as a developer runs them."""
    readme = (ROOT / "README.md").read_text()
    commands = [line.split() for line in re.findall(r"^python manage\.py makemessages .*$", readme, re.MULTILINE)]
    assert sorted(command[command.index("-d") + 1] for command in commands) == sorted(DOMAINS), commands
    return commands


def keyed(po: Path) -> dict[tuple[str, str], tuple[dict[str, str], list[str]]]:
    found = {}
    for fields, comments, _ in entries(po.read_text(encoding="utf-8")):
        if fields["msgid"]:
            found[(fields.get("msgctxt", ""), fields["msgid"])] = (fields, comments)
    return found


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """The catalogs makemessages makes now, merged into a copy of the committed ones, as the README says."""
    copy = tmp_path_factory.mktemp("messages") / "code"
    shutil.copytree(ROOT, copy, ignore=LEFT_OUT_OF_THE_COPY)
    for command in documented_commands():
        done = subprocess.run(
            [sys.executable, *command[1:]], cwd=copy, env=child_env(), capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return copy / "locale" / "de" / "LC_MESSAGES"


@pytest.mark.slow
@pytest.mark.parametrize("domain", DOMAINS)
def test_makemessages_finds_exactly_the_committed_msgids(fresh, domain):
    committed, made = keyed(CATALOGS / f"{domain}.po"), keyed(fresh / f"{domain}.po")
    missing = sorted(set(made) - set(committed))
    unused = sorted(set(committed) - set(made))
    assert not missing, f"{len(missing)} msgids not in locale/de/LC_MESSAGES/{domain}.po: {missing[:20]}"
    assert not unused, f"{len(unused)} msgids the code no longer has: {unused[:20]}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_msgid_has_a_german_translation_that_is_not_fuzzy(domain):
    catalog = keyed(CATALOGS / f"{domain}.po")
    assert catalog
    untranslated = [key for key, (fields, _) in catalog.items() if not all(_translations(fields))]
    fuzzy = [key for key, (_, comments) in catalog.items() if is_fuzzy(comments)]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy: {fuzzy[:20]}"


def _translations(fields: dict[str, str]) -> list[str]:
    return [value for name, value in fields.items() if name.startswith("msgstr")]


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_the_po_compiled(tmp_path, domain):
    po, mo = CATALOGS / f"{domain}.po", CATALOGS / f"{domain}.mo"
    compiled = tmp_path / f"{domain}.mo"
    done = subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(po)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with mo.open("rb") as committed, compiled.open("rb") as fresh_mo:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh_mo)._catalog, (
            f"locale/de/LC_MESSAGES/{domain}.mo is older than its .po: run compilemessages (README)"
        )
