"""A real git repository built inside a test: no mocks of git, ever."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

AUTHOR = "dev@example.com"


class GitRepo:
    """Builds history step by step; every method runs real git in `path`."""

    def __init__(self, path: Path, *, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self._tick = 0
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.name", "Dev")
        self.git("config", "user.email", AUTHOR)
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **(env or {})},
        )
        return done.stdout

    def write(self, relpath: str, text: str) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def commit(
        self,
        message: str,
        *,
        author: str = AUTHOR,
        trailers: dict[str, str] | None = None,
        paths: tuple[str, ...] = (),
    ) -> str:
        """Stage `paths` (default: everything) and commit; returns the full sha.

        Each commit is one minute after the previous one, so dates are distinct and
        ordered however fast the test runs.
        """
        self.git("add", "-A", *(["--", *paths] if paths else []))
        body = message
        if trailers:
            body += "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers.items())
        self._tick += 1
        date = f"2026-01-01T00:{self._tick // 60:02d}:{self._tick % 60:02d}+00:00"
        self.git(
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            body,
            f"--author=Dev <{author}>",
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )
        return self.git("rev-parse", "HEAD").strip()

    def write_bytes(self, relpath: str, data: bytes) -> Path:
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()
