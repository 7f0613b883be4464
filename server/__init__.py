"""The server fast paths: each place liveblog leans on Daphne, Twisted, autobahn or websockets internals.

A path runs only when its switch (`FASTPATH_<NAME>`) is on and the installed versions are ones it
was checked against; otherwise the public API serves. It imports no app (.importlinter), so any layer
may call it. The paths: docs/architecture.md, *The server fast paths*.
"""

import functools
import logging
from collections.abc import Mapping
from importlib import metadata

from django.conf import settings
from django.core.signals import setting_changed

logger = logging.getLogger(__name__)

# The versions whose internals the paths were read against and tested with.
VERIFIED = {"daphne": ("4.2.1",), "twisted": ("26.10.0",), "autobahn": ("26.10.2",), "websockets": ("15.0.1",)}
WRITTEN_FOR: dict[str, tuple[str, ...]] = {
    "prepared_frames": ("daphne", "autobahn"),  # Daphne's send is partial(Server.handle_reply, protocol)
    "direct_write": ("autobahn", "twisted"),  # autobahn's send_queue, Twisted's tcp.Connection buffers
    "heartbeat": ("daphne", "autobahn"),  # Daphne's last_ping
    "daphne_shutdown_fix": ("daphne",),  # Server.kill_all_applications and Server.connections
    "gc_tuning": (),  # Python's own gc module only
    "client_send": ("websockets",),  # Connection.protocol, fragmented_send_waiter, send_data, transport
    "quiet_reads": ("autobahn",),  # WebSocketAdapterProtocol.dataReceived forwards to _dataReceived
    "lean_sockets": ("daphne", "autobahn", "twisted"),  # the handshake's attributes, HTTPChannel as producer
    "detached_sockets": ("daphne",),  # WebSocketProtocol.application_queue, only put_nowait once open
}
FASTPATHS = tuple(WRITTEN_FOR)


@functools.cache
def installed_versions() -> dict[str, str]:
    versions = {}
    for package in VERIFIED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def versions_verified(name: str, installed: Mapping[str, str]) -> bool:
    """Whether `installed` are versions fast path `name` was checked against; a WARNING names any that are not."""
    if name not in WRITTEN_FOR:
        raise ValueError(f"no fast path named {name!r}; the fast paths are {', '.join(FASTPATHS)}")
    differ = {
        package: installed.get(package, "not installed")
        for package in WRITTEN_FOR[name]
        if installed.get(package) not in VERIFIED[package]
    }
    if differ:
        logger.warning(
            "fast path %s is off, the public API serves instead: it was written for %s, installed is %s",
            name,
            ", ".join(f"{package} {' or '.join(VERIFIED[package])}" for package in differ),
            ", ".join(f"{package} {version}" for package, version in differ.items()),
        )
    return not differ


_active: dict[str, bool] = {}


def active(name: str) -> bool:
    """Whether fast path `name` runs here: its setting is on and the installed versions are verified."""
    known = _active.get(name)
    if known is None:
        switches = getattr(settings, "FASTPATHS", {})
        known = _active[name] = bool(switches.get(name, True)) and versions_verified(name, installed_versions())
    return known


def _forget_switches(*, setting: str, **kwargs) -> None:
    if setting == "FASTPATHS":
        _active.clear()


setting_changed.connect(_forget_switches)
