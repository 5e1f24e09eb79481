"""The rules of privacy.py, one fast test each: exclusion globs (:class:`GlobSet`).

The slower, end-to-end privacy tests (corpus, engine, editors) are in
``tests/reliability/test_privacy.py``; these are the ones ``python -m bench.mutation privacy``
runs against each mutant.
"""

from __future__ import annotations

import fnmatch
import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codestral_ls.privacy import (
    GlobSet,
    PromptMasker,
    effective_globs,
    is_excluded,
    mask_secrets,
)


@pytest.mark.parametrize(
    ("glob", "path", "excluded"),
    [
        # a glob without "/" matches the file name, at any depth, ignoring case
        ("*.pem", "/p/a/b/server.pem", True),
        ("*.pem", "/p/server.pem.txt", False),
        ("*.PEM", "/p/SERVER.pem", True),
        ("id_rsa*", "/h/.x/id_rsa.pub", True),
        ("?.key", "/p/a.key", True),
        ("?.key", "/p/ab.key", False),
        ("[ab].key", "/p/b.key", True),
        ("[ab].key", "/p/c.key", False),
        ("[!ab].key", "/p/c.key", True),
        ("[!ab].key", "/p/a.key", False),
        ("[a-c].key", "/p/b.key", True),
        ("[]].key", "/p/].key", True),
        ("[z-a].key", "/p/z.key", False),
        ("[.key", "/p/[.key", True),
        ("*a*b*c", "/p/xxaxxbxxc", True),
        ("*a*b*c", "/p/xxbxxaxxc", False),
        ("*", "/p/anything.py", True),
        # a glob ending in "/*" matches everything below that folder, however deep
        ("secrets/*", "/p/secrets/a.txt", True),
        ("secrets/*", "/p/secrets/deep/down/a.txt", True),
        ("secrets/*", "/p/secrets", False),
        ("secrets/*", "/p/my-secrets/a.txt", False),
        ("config/gcloud/*", "/h/.x/config/gcloud/a/b.json", True),
        ("config/gcloud/*", "/h/config/other/a.json", False),
        ("secrets/**", "/p/secrets/a/b", True),
        ("*cache*/*", "/p/my-cache-dir/a", True),
        # any other glob with "/" matches a tail of the path; wildcards never match "/"
        (".docker/config.json", "/h/.docker/config.json", True),
        (".docker/config.json", "/h/docker/config.json", False),
        ("config/*.yaml", "/p/config/prod.yaml", True),
        ("config/*.yaml", "/p/config/sub/prod.yaml", False),
        ("config/*.yaml", "/p/myconfig/prod.yaml", False),
        ("a/?/c", "/p/a/b/c", True),
        ("a/?/c", "/p/a//c", False),
        ("a[/]b", "/p/a/b", False),
        ("a[!x]b", "/p/a/b", False),
        # a leading "/" or "**/" only says "at any depth"
        ("/config/*.yaml", "/p/config/prod.yaml", True),
        ("**/config/*.yaml", "/p/q/config/prod.yaml", True),
        ("**/secrets/*", "/secrets/a", True),
        # Windows separators in the path
        ("secrets/*", "C:\\p\\secrets\\a.txt", True),
    ],
)
def test_glob_rules(glob: str, path: str, excluded: bool) -> None:
    assert GlobSet([glob]).matches(path) is excluded


def test_no_globs_match_nothing() -> None:
    assert not GlobSet([]).matches("/p/a.py")
    assert not GlobSet(["", "/"]).matches("/p/a.py")


def test_an_empty_path_matches_nothing() -> None:
    assert not GlobSet(["*"]).matches("")
    assert not GlobSet(["*"]).matches("///")


def test_the_three_kinds_combine() -> None:
    globs = GlobSet(["*.pem", ".docker/config.json", ".git/*"])
    assert globs.matches("/p/a.pem")
    assert globs.matches("/h/.docker/config.json")
    assert globs.matches("/p/.git/hooks/pre-commit")
    assert not globs.matches("/p/a.py")


def test_is_excluded_reads_the_uri_and_keeps_the_defaults() -> None:
    assert is_excluded("file:///p/prod%20settings.json", ["prod settings.json"])
    assert is_excluded("file:///p/.env", ["creds/*"])
    assert not is_excluded("file:///p/.git/config", ["!.git/*"])
    assert not is_excluded("file:///p/app.py", [])


def test_each_distinct_setting_is_compiled_once() -> None:
    globs = effective_globs(("*.secret",))
    assert GlobSet.of(globs) is GlobSet.of(globs)


_NAME_CHARS = string.ascii_lowercase[:4] + ".-_"
_GLOB_CHARS = st.sampled_from([*_NAME_CHARS, "*", "?", "[ab]", "[!a]", "[a-c]"])


@given(
    glob=st.lists(_GLOB_CHARS, min_size=1, max_size=8).map("".join),
    name=st.text(_NAME_CHARS, min_size=1, max_size=10),
)
def test_a_file_name_glob_means_what_fnmatch_means(glob: str, name: str) -> None:
    """Within one file name the rules are ``fnmatch``'s, look-ahead trick included."""
    assert GlobSet([glob]).matches(f"/p/{name}") is fnmatch.fnmatchcase(name, glob)


def _cost(globs: GlobSet, path: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        globs.matches(path)
        best = min(best, time.thread_time() - started)
    return best


def test_globs_are_linear_in_the_path_depth() -> None:
    """Matching each glob against each tail of the path was quadratic (a 144 KB URI: 5 s).

    Compared as a ratio of two depths in the same run, never as a time.
    """
    globs = GlobSet.of(effective_globs(("*a*b*.c", "x/*/y")))
    small, large = "/a" * 10_000, "/a" * 100_000
    growth = _cost(globs, large) / max(_cost(globs, small), 1e-6)
    assert growth < 40  # linear: ~10x; the old matching: ~100x


# -- masking prompts and suffixes by parts (PromptMasker) -------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("blanks", [0, 8, 14, 15, 16])
def test_a_value_below_its_name_is_masked_whatever_was_seen_before(eol: str, blanks: int) -> None:
    """The pattern takes a value on the line after ``password:`` and up to 16 blanks; the
    masker must keep those two lines together even when it remembers the value's line from
    a context where it was no secret (it leaked with 15 or 16 blanks, or 14 before ``\\r\\n``).
    """
    masker = PromptMasker()
    innocent = f"x = 1{eol}  hunter2x9{eol}y = "
    assert masker.prompt(innocent) == innocent
    text = f"password:{' ' * blanks}{eol}  hunter2x9{eol}y = "
    assert masker.prompt(text) == mask_secrets(text)
    assert "hunter2x9" not in masker.prompt(text)
