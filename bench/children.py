"""Every process a bench starts, stopped with it: at its end, on Ctrl-C or SIGTERM, and, through the
kernel's parent-death signal, even when the bench itself is killed."""

import atexit
import contextlib
import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_popens: list[subprocess.Popen] = []
_processes: list[multiprocessing.Process] = []
_installed = False


def die_with_parent() -> None:
    """In a child: SIGTERM when the process that started it dies, however it dies (Linux)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the bench's own handlers still stop it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def in_child() -> None:
    """First thing in a multiprocessing child: the parent's handlers undone (SIGTERM ends it at once, Ctrl-C is
    the parent's to handle), and SIGTERM when the parent dies."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def _child_setup(extra) -> None:
    die_with_parent()
    if extra is not None:
        extra()


def spawn(args: list[str], *, preexec_fn=None, **kwargs) -> subprocess.Popen:
    """Popen in a process group of its own (its children too, as a Celery worker's pool), stopped with the bench."""
    install()
    popen = subprocess.Popen(args, start_new_session=True, preexec_fn=lambda: _child_setup(preexec_fn), **kwargs)
    _popens.append(popen)
    return popen


def track(process: multiprocessing.Process) -> multiprocessing.Process:
    """A started multiprocessing child, terminated with the bench if still running."""
    install()
    _processes.append(process)
    return process


def stop(*popens: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM to each child at once (each stops its own children, as a Celery worker its pool), SIGKILL to the
    whole group of any still running after `timeout` s, and to whatever of each group outlived its leader."""
    for popen in popens:
        if popen.poll() is None:
            popen.terminate()
    deadline = time.monotonic() + timeout
    for popen in popens:
        try:
            popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(popen, signal.SIGKILL)
            popen.wait()
        _signal_group(popen, signal.SIGKILL)


def _signal_group(popen: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signum)


def stop_all() -> None:
    for process in _processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + 10
    for process in _processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    stop(*_popens, timeout=10)


def _on_signal(signum, _frame) -> None:
    # Out of whatever the bench was doing, through its finally blocks and atexit.
    signal.signal(signum, signal.SIG_DFL)
    raise SystemExit(128 + signum)


def install() -> None:
    """Once per bench process: stop every child at exit and turn SIGTERM and SIGHUP into an orderly exit."""
    global _installed
    if _installed or multiprocessing.parent_process() is not None:
        return
    _installed = True
    atexit.register(stop_all)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started with it ignored


def run_main(main) -> None:
    """Runs a bench's main with its children stopped however it ends; Ctrl-C exits quietly with 130."""
    install()
    try:
        status = main()
    except KeyboardInterrupt:
        stop_all()
        print("interrupted: every process the bench started is stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        stop_all()  # before multiprocessing's own exit handler, which would wait for its children
    sys.exit(status or 0)
