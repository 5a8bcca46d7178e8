"""Links to files and commits: which remotes give links, and where they point."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tddgate.report.links import RepoLinks, repo_links, repo_prefix, web_url
from tests.gitrepo import GitRepo


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("git@github.com:acme/shop.git", ("https://github.com/acme/shop", "github")),
        ("https://github.com/acme/shop.git\n", ("https://github.com/acme/shop", "github")),
        (
            "https://x-access-token:s3cret@github.com/acme/shop",
            ("https://github.com/acme/shop", "github"),
        ),
        ("ssh://git@github.com:22/acme/shop.git", ("https://github.com/acme/shop", "github")),
        (
            "git@github.example.com:team/shop.git",
            ("https://github.example.com/team/shop", "github"),
        ),
        ("git@gitlab.com:group/sub/shop.git", ("https://gitlab.com/group/sub/shop", "gitlab")),
        ("https://bitbucket.org/acme/shop.git", None),
        ("/srv/git/shop.git", None),
        ("file:///srv/git/shop.git", None),
        ("git@github.com:../etc", None),
    ],
)
def test_web_url_of_remotes(remote: str, expected: tuple[str, str] | None) -> None:
    assert web_url(remote) == expected


def test_file_and_commit_urls_per_forge() -> None:
    github = RepoLinks("https://github.com/a/b", "abc", "pkg/")
    assert github.file("src/x y.py", 3) == "https://github.com/a/b/blob/abc/pkg/src/x%20y.py#L3"
    assert github.commit("def") == "https://github.com/a/b/commit/def"
    gitlab = RepoLinks("https://gitlab.com/a/b", "abc", style="gitlab")
    assert gitlab.file("x.py") == "https://gitlab.com/a/b/-/blob/abc/x.py"
    assert gitlab.commit("def") == "https://gitlab.com/a/b/-/commit/def"


def test_links_come_from_the_origin_remote_and_know_the_project_folder(repo: GitRepo) -> None:
    repo.write("app/pyproject.toml", "")
    head = repo.commit("start")
    repo.git("remote", "add", "origin", "git@github.com:acme/mono.git")
    links = repo_links(repo.path / "app", head, {})
    assert links == RepoLinks("https://github.com/acme/mono", head, "app/", "github")
    assert links.file("src/a.py", 2) == f"https://github.com/acme/mono/blob/{head}/app/src/a.py#L2"
    assert repo_prefix(repo.path / "app") == "app/"


def test_without_origin_github_actions_variables_give_the_links(repo: GitRepo) -> None:
    head = repo.commit("start")
    assert repo_links(repo.path, head, {}) is None
    environ = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop"}
    assert repo_links(repo.path, head, environ) == RepoLinks("https://github.com/acme/shop", head)


def test_outside_git_there_are_no_links(tmp_path: Path) -> None:
    assert repo_links(tmp_path, "abc", {}) is None
    assert repo_prefix(tmp_path) == ""
