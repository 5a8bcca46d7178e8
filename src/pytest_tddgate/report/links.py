"""Links from a report to the files and commits it names, on the forge that hosts them.

The renderers are pure: they take a `RepoLinks` (or None, and then print plain
paths). `repo_links` is the one place that asks git where the repository lives.
Only forges whose URL layout we know get links; a wrong link is worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pytest_tddgate.errors import ToolError

# forge style -> (file URL template, commit URL template)
_LAYOUTS = {
    "github": ("{web}/blob/{rev}/{path}", "{web}/commit/{rev}"),
    "gitlab": ("{web}/-/blob/{rev}/{path}", "{web}/-/commit/{rev}"),
}
_SCP_LIKE = re.compile(r"^(?:[\w.~-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>[^\\]+)$")
_URL_LIKE = re.compile(
    r"^(?:https?|ssh|git|git\+ssh)://(?:[^@/]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>.+)$"
)


@dataclass(frozen=True, slots=True)
class RepoLinks:
    """Where files and commits of this repository can be read in a browser."""

    web_url: str  # https://github.com/owner/repo, without a trailing slash
    revision: str  # the commit files are linked at (the report's head)
    prefix: str = ""  # the project's folder inside the repository: "" or "sub/dir/"
    style: str = "github"

    def file(self, path: str, line: int | None = None) -> str:
        template = _LAYOUTS[self.style][0]
        url = template.format(
            web=self.web_url, rev=self.revision, path=quote(self.prefix + path, safe="/")
        )
        return f"{url}#L{line}" if line else url

    def commit(self, sha: str) -> str:
        return _LAYOUTS[self.style][1].format(web=self.web_url, rev=quote(sha, safe=""))


def web_url(remote: str) -> tuple[str, str] | None:
    """`git@github.com:o/r.git` -> ("https://github.com/o/r", "github"), else None.

    Credentials in an https remote (`https://token@github.com/...`) are dropped:
    a report is something people paste into pull requests.
    """
    remote = remote.strip()
    match = _URL_LIKE.match(remote) or _SCP_LIKE.match(remote)
    if match is None:
        return None
    host, path = match.group("host").lower(), match.group("path").strip("/")
    path = path.removesuffix(".git").rstrip("/")
    if path.count("/") < 1 or any(part in ("", ".", "..") for part in path.split("/")):
        return None
    style = "github" if "github" in host else "gitlab" if "gitlab" in host else None
    if style is None:
        return None
    return f"https://{host}/{path}", style


def repo_links(root: Path, head: str | None, environ: Mapping[str, str]) -> RepoLinks | None:
    """Links for the repository `root` is in, at `head`; None when unknown.

    The remote `origin` decides; on GitHub Actions without one, the workflow's
    `GITHUB_SERVER_URL` / `GITHUB_REPOSITORY` do.
    """
    from pytest_tddgate.facts.git import git

    if not head:
        return None
    try:
        remote = git(["remote", "get-url", "origin"], root, ok_codes=(0, 2, 128)).text
    except ToolError:
        return None
    found = web_url(remote)
    if found is None and environ.get("GITHUB_REPOSITORY") and environ.get("GITHUB_SERVER_URL"):
        server = environ["GITHUB_SERVER_URL"].rstrip("/")
        found = (f"{server}/{environ['GITHUB_REPOSITORY']}", "github")
    if found is None:
        return None
    return RepoLinks(found[0], head, repo_prefix(root), found[1])


def repo_prefix(root: Path) -> str:
    """The folder of `root` inside its repository, "" or "sub/dir/" ("" outside git).

    Findings name paths from the project root; GitHub wants them from the
    repository's root, which differs in a monorepo.
    """
    from pytest_tddgate.facts.git import git

    try:
        return git(["rev-parse", "--show-prefix"], root).text.strip()
    except ToolError:
        return ""
