"""The one subprocess wrapper: argument lists, a timeout, typed errors, no shell."""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tddgate.errors import ToolError

# `Background.follow` reads what the command wrote every half millisecond while it
# writes (a git log writes 4 KiB blocks, a few per millisecond), and up to every 8 ms
# while it writes nothing
_FOLLOW_READ = 1 << 20
_FOLLOW_SLEEP_S = 0.0005
_FOLLOW_SLEEP_MAX_S = 0.008


@dataclass(frozen=True, slots=True)
class Completed:
    """The result of a finished command."""

    command: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str
    duration_s: float

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


def run(
    command: Sequence[str],
    *,
    cwd: Path,
    ok_codes: tuple[int, ...] = (0,),
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> Completed:
    """Run `command` and return its output; raise `ToolError` for any other exit code."""
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            list(command),
            cwd=cwd,
            input=stdin,
            capture_output=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolError(command, 127, str(exc), message=f"`{command[0]}` was not found") from exc
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode("utf-8", errors="replace")
        raise ToolError(
            command, None, stderr, message=f"`{command[0]}` timed out after {timeout:g} s"
        ) from exc
    stderr = proc.stderr.decode("utf-8", errors="replace")
    if proc.returncode not in ok_codes:
        raise ToolError(command, proc.returncode, stderr)
    return Completed(
        tuple(command), proc.returncode, proc.stdout, stderr, time.perf_counter() - started
    )


class Background:
    """A command started now and collected later, so it runs while the tests run.

    Its output goes to temporary files, not pipes: nobody reads a pipe until the
    session ends, and a tool that prints more than a pipe holds (64 KiB: a few
    hundred findings) would stop there and do the rest of its work at the end.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        timeout: float,
        ok_codes: tuple[int, ...] = (0,),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.command = tuple(command)
        self.ok_codes = ok_codes
        self.timeout = timeout
        self._started = time.perf_counter()
        self._result: Completed | ToolError | None = None
        # no `with`: the files must outlive this call; `_read` and `cancel` close them
        self._out = tempfile.TemporaryFile()  # noqa: SIM115
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                list(command),
                cwd=cwd,
                stdout=self._out,
                stderr=self._err,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
            )
        except FileNotFoundError as exc:
            self._proc = None
            self._close()
            self._result = ToolError(
                command, 127, str(exc), message=f"`{command[0]}` was not found"
            )

    def follow(
        self, consume: Callable[[bytes], None], idle: Callable[[], object] | None = None
    ) -> None:
        """Hand `consume` the output as the command writes it, until it ends, so that
        the caller works on the first part while the command writes the rest; call
        `idle` once, the first time nothing new was written. `result()` still returns
        the whole output. Where the system cannot read a file at an offset
        (`os.pread`), this only waits."""
        if self._proc is None or self._out.closed or not hasattr(os, "pread"):
            return
        deadline = self._started + self.timeout
        with _ExitWatch(self._proc) as watch:
            self._follow(consume, idle, watch, deadline)

    def _follow(
        self,
        consume: Callable[[bytes], None],
        idle: Callable[[], object] | None,
        watch: _ExitWatch,
        deadline: float,
    ) -> None:
        assert self._proc is not None
        handle, offset = self._out.fileno(), 0
        pause = _FOLLOW_SLEEP_S
        while True:
            ended = self._proc.poll() is not None  # before the read: then it reads all
            data = os.pread(handle, _FOLLOW_READ, offset)
            if data:
                pause = _FOLLOW_SLEEP_S
            while data:
                offset += len(data)
                consume(data)
                data = os.pread(handle, _FOLLOW_READ, offset)
            if ended or time.perf_counter() > deadline:
                return
            if idle is not None:
                idle()
                idle = None
            else:  # a command that writes nothing for long is asked less and less often
                watch.wait(pause)  # but its end is seen at once
                pause = min(pause * 2, _FOLLOW_SLEEP_MAX_S)

    def succeeded(self) -> bool:
        """Whether the command has ended, with an exit code it is allowed."""
        return self._proc is not None and self._proc.poll() in self.ok_codes

    def result(self) -> Completed:
        """Wait for the command (within what is left of its timeout) and return its output."""
        if self._result is None:
            self._result = self._collect()
        if isinstance(self._result, ToolError):
            raise self._result
        return self._result

    def _collect(self) -> Completed | ToolError:
        assert self._proc is not None
        left = max(0.1, self.timeout - (time.perf_counter() - self._started))
        try:
            _wait(self._proc, left)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            return ToolError(
                self.command,
                None,
                self._read()[1],
                message=f"`{self.command[0]}` timed out after {self.timeout:g} s and was stopped",
            )
        duration = time.perf_counter() - self._started
        out, stderr = self._read()
        if self._proc.returncode not in self.ok_codes:
            return ToolError(self.command, self._proc.returncode, stderr)
        return Completed(self.command, self._proc.returncode, out, stderr, duration)

    def _read(self) -> tuple[bytes, str]:
        if self._out.closed:  # cancelled before anyone asked for the result
            return b"", ""
        self._out.seek(0)
        self._err.seek(0)
        out, err = self._out.read(), self._err.read()
        self._close()
        return out, err.decode("utf-8", errors="replace")

    def _close(self) -> None:
        self._out.close()
        self._err.close()

    def cancel(self) -> None:
        """Stop the command if it still runs (the session ended without needing it)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._close()


class _ExitWatch:
    """Waits that end the moment the process ends, where the system can tell (a
    Linux pidfd); elsewhere `wait` only sleeps."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._poller: select.poll | None = None
        self._handle: int | None = None
        pidfd_open = getattr(os, "pidfd_open", None)
        if pidfd_open is not None and hasattr(select, "poll") and proc.returncode is None:
            with contextlib.suppress(OSError):  # an old kernel: sleeps, then
                self._handle = pidfd_open(proc.pid)
                self._poller = select.poll()
                self._poller.register(self._handle, select.POLLIN)

    @property
    def exact(self) -> bool:
        """Whether `wait` sees the end (rather than sleeping through it)."""
        return self._poller is not None

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True if the process ended meanwhile (as far as known)."""
        if self._poller is None:
            time.sleep(seconds)
            return False
        return bool(self._poller.poll(seconds * 1000))

    def __enter__(self) -> _ExitWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            os.close(self._handle)


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """`proc.wait(timeout)`, but woken the moment the process ends where the system
    can tell: `Popen.wait` with a timeout polls with sleeps that grow to 50 ms, which
    a command read right after a short one would wait out."""
    with _ExitWatch(proc) as watch:
        if watch.exact and not watch.wait(timeout):
            raise subprocess.TimeoutExpired(proc.args, timeout)
    proc.wait(timeout=timeout)


_LAUNCH = (
    "import runpy, sys\n"
    "where, module = sys.argv[1:]\n"
    "sys.path.append(where)\n"
    "del sys.argv[1:]\n"  # the helper's own command line is empty
    "runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
)


class Exchange:
    """A helper process of this package that answers messages: Python objects,
    pickled, over its stdin and stdout.

    Pickle is safe here: both ends are this package's code in the same interpreter
    (`sys.executable`), and nothing else writes to the pipes. The helper writes
    nothing else to stdout; its stderr goes to a file, read for the message when it
    fails, so that a helper writing warnings never stops on a full pipe.
    """

    def __init__(self, module: str, *, cwd: Path) -> None:
        # the package as this process found it, also when only this process's
        # `sys.path` has it (appended: it never shadows the helper's own modules)
        where = str(Path(__file__).resolve().parent.parent)
        self.command = (sys.executable, "-c", _LAUNCH, where, module)
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `close`)
        self._proc = subprocess.Popen(
            self.command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err
        )

    def send(self, message: object) -> None:
        """Raises `ToolError` when the helper is gone."""
        assert self._proc.stdin is not None
        try:
            pickle.dump(message, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise self._failed(f"the helper stopped reading: {exc}") from None

    def receive(self, timeout: float) -> Any:
        """The helper's next message; raises `ToolError` when it ends, fails or takes
        longer than `timeout` seconds to start answering."""
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            raise self._failed(f"the helper did not answer within {timeout:g} s")
        try:
            return pickle.load(self._proc.stdout)
        except (EOFError, pickle.UnpicklingError, OSError, AttributeError, ImportError) as exc:
            what = f"the helper ended without an answer ({type(exc).__name__})"
            raise self._failed(what) from None

    def close(self) -> None:
        """End the helper (it ends by itself when its stdin closes) and free its files."""
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            self._proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._err.close()

    def _failed(self, what: str) -> ToolError:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        stderr = ""
        if not self._err.closed:
            self._err.seek(0)
            stderr = self._err.read().decode("utf-8", errors="replace")
        return ToolError(self.command, self._proc.returncode, stderr, message=what)
