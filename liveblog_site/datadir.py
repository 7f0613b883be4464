"""The data folder (LIVEBLOG_DATA_DIR, ./var by default): where it is, and the one step that makes it.

Reading the settings creates nothing: `python -m liveblog_site.datadir` makes the folders and, unless
SECRET_KEY is set, the secret key (unless VAPID_PRIVATE_KEY is set, the Web Push key pair too). It is no
manage.py command because the settings cannot load without that key; the web process, worker and beat refuse
to start until it has run (`exit_unless_prepared`).
"""

import os
import secrets
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from liveblog_site.env import env_str

BASE_DIR = Path(__file__).resolve().parent.parent
KEY_FILE_NAME = "secret_key"
VAPID_KEY_FILE_NAME = "vapid_private_key.pem"
PREPARE_COMMAND = "python -m liveblog_site.datadir"


def data_dir() -> Path:
    return Path(env_str("LIVEBLOG_DATA_DIR") or BASE_DIR / "var")


def read_secret_key(data: Path) -> str:
    key_file = data / KEY_FILE_NAME
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and there is no key file at {key_file}: run `{PREPARE_COMMAND}` "
            "(scripts/run.sh does) to make this installation's key, or set SECRET_KEY"
        ) from None


def write_secret_key(data: Path) -> None:
    """One random key per installation, kept beside the data and readable by its owner only."""
    key_file = data / KEY_FILE_NAME
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_urlsafe(64))


def write_vapid_key(data: Path) -> None:
    """The installation's Web Push key pair (P-256, readers.webpush), made once like the secret key."""
    try:
        descriptor = os.open(data / VAPID_KEY_FILE_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)


def folders_to_make() -> list[Path]:
    """The folders the settings name that nothing else creates before writing into them."""
    folders = [Path(settings.DATA_DIR), Path(settings.STATIC_ROOT)]
    if settings.CELERY_BROKER_URL == "filesystem://":
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(options[name]) for name in ("data_folder_in", "processed_folder", "control_folder")]
    return folders


def prepare() -> list[Path]:
    """Makes the data folder, its key (unless SECRET_KEY is set) and the folders the settings name.
    Safe to run again: an existing key is kept. Returns the folders."""
    data = data_dir()
    data.mkdir(parents=True, exist_ok=True)
    if not env_str("SECRET_KEY"):
        write_secret_key(data)
    if not env_str("VAPID_PRIVATE_KEY"):
        write_vapid_key(data)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    folders = folders_to_make()
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def missing() -> list[Path]:
    """What `prepare()` makes that is not there: the key file (unless SECRET_KEY is set), else missing folders."""
    key_file = data_dir() / KEY_FILE_NAME
    if not env_str("SECRET_KEY") and not key_file.is_file():
        return [key_file]  # the settings cannot load without it, so the folders they name cannot be asked
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog_site.settings")
    return [folder for folder in folders_to_make() if not folder.is_dir()]


def exit_unless_prepared() -> None:
    """A process's first step: on a data folder `prepare()` did not make, stop at once with one line saying so."""
    gaps = missing()
    if gaps:
        sys.exit(f"The data folder {data_dir()} is not prepared ({_listed(gaps)}): run `{PREPARE_COMMAND}` first")


def _listed(gaps: list[Path]) -> str:
    data = data_dir()
    if not data.is_dir():
        return "it does not exist"
    return "no " + ", ".join(os.path.relpath(gap, data) for gap in gaps)


if __name__ == "__main__":
    for folder in prepare():
        print(f"ready: {folder}")
