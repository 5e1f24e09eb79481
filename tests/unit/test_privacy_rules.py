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

from codestral_ls.documents import Document
from codestral_ls.privacy import (
    DEFAULT_EXCLUDE_GLOBS,
    HEAD_CHARS,
    HEAD_LINES,
    MASK,
    GlobSet,
    PromptMasker,
    SecretFile,
    SecretMask,
    cursor_in_secret,
    effective_globs,
    is_excluded,
    is_withheld,
    mask_secrets,
    mostly_secrets,
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
        ("*.pem", "/p/a.pem.pem", True),  # the last star takes all it can
        ("a**b", "/p/axb", True),  # stars in a row are one star
        ("a**b", "/p/ax", False),
        ("a[", "/p/a[", True),  # an unclosed bracket at the end is literal
        ("x[!", "/p/x[!", True),
        ("[!]].key", "/p/a.key", True),  # "]" first in a negated class is literal
        ("[!]].key", "/p/].key", False),
        # a glob ending in "/*" matches everything below that folder, however deep
        ("secrets/*", "/p/secrets/a.txt", True),
        ("secrets/*", "/p/secrets/deep/down/a.txt", True),
        ("secrets/*", "/p/secrets", False),
        ("secrets/*", "/p/my-secrets/a.txt", False),
        ("config/gcloud/*", "/h/.x/config/gcloud/a/b.json", True),
        ("config/gcloud/*", "/h/config/other/a.json", False),
        ("secrets/**", "/p/secrets/a/b", True),
        ("a/*", "/p/a/b/c", True),  # a one-letter folder
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


def test_the_user_adds_globs_and_removes_defaults_with_a_bang() -> None:
    globs = effective_globs(("!.git/*", " *.secret ", "", "  ", "/creds/*", "! /.npmrc"))
    assert ".git/*" not in globs and ".npmrc" not in globs  # "!" removes, as it is written
    assert not any(glob.startswith("!") for glob in globs)  # and is never a glob itself
    kept = tuple(glob for glob in DEFAULT_EXCLUDE_GLOBS if glob not in (".git/*", ".npmrc"))
    assert globs == (*kept, "*.secret", "creds/*")  # stripped, leading "/" dropped
    assert effective_globs(("mine.txt", "!MINE.txt")) == DEFAULT_EXCLUDE_GLOBS
    assert effective_globs(("*.pem", "*.new", "*.new")) == (*DEFAULT_EXCLUDE_GLOBS, "*.new")


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


TOKEN = "ghp_" + "a1B2" * 9
SECRET_LINE = f"GH_TOKEN={TOKEN}\n"
CODE_LINE = "x = compute(1)\n"


# -- a file withheld whole -------------------------------------------------------------------


def test_a_file_is_withheld_when_more_than_a_third_of_its_lines_hold_a_secret() -> None:
    assert mostly_secrets([SECRET_LINE])
    assert mostly_secrets([SECRET_LINE, CODE_LINE])
    assert not mostly_secrets([SECRET_LINE, CODE_LINE, CODE_LINE])  # a third: not more
    assert mostly_secrets([SECRET_LINE, SECRET_LINE, CODE_LINE, CODE_LINE, CODE_LINE])
    assert not mostly_secrets([SECRET_LINE] + [CODE_LINE] * 19)
    assert not mostly_secrets([])
    assert not mostly_secrets(["\n", "  \n", CODE_LINE])


def test_blank_lines_do_not_count() -> None:
    assert mostly_secrets(["\n"] * 5 + [SECRET_LINE])
    assert mostly_secrets([SECRET_LINE, CODE_LINE, "\n", "   \n", "\t\n"])


def test_only_the_first_200_lines_are_read() -> None:
    assert mostly_secrets(["\n"] * 198 + [CODE_LINE, SECRET_LINE])
    assert not mostly_secrets(["\n"] * 199 + [CODE_LINE, SECRET_LINE])


def test_only_the_first_32_000_characters_are_read() -> None:
    def head(size: int) -> list[str]:
        """A comment line, then a secret line ending at character ``size``."""
        filler = "# " + "word " * 7000
        return [filler[: size - len(SECRET_LINE) - 1] + "\n", SECRET_LINE]

    assert mostly_secrets(head(32_000))
    assert not mostly_secrets(head(32_001))
    assert not mostly_secrets(head(40_000) + [SECRET_LINE] * 2)  # nothing after it either


def test_a_file_is_withheld_by_its_name_or_with_detection_by_its_lines() -> None:
    assert is_withheld("file:///p/.env", [CODE_LINE], [], detect=False)
    assert is_withheld("file:///p/notes.txt", [SECRET_LINE], [], detect=True)
    assert not is_withheld("file:///p/notes.txt", [SECRET_LINE], [], detect=False)
    assert not is_withheld("file:///p/notes.txt", [CODE_LINE], [], detect=True)


class _ReadOnce(list):
    """Lines that may be read once: a second read means the verdict was not remembered."""

    reads = 0

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        type(self).reads += 1
        assert type(self).reads == 1, "the lines were read again"
        return super().__getitem__(key)


def test_a_secret_file_verdict_is_read_again_only_when_the_head_changes() -> None:
    code = Document("file:///p/a.txt", CODE_LINE * 300)
    check = SecretFile()

    def head(document: Document) -> str:
        return document.head(HEAD_LINES, HEAD_CHARS + 1)

    _ReadOnce.reads = 0
    assert not check.check(code.uri, head(code), _ReadOnce(code.lines))
    code.apply_edit((250, 0), (250, 0), SECRET_LINE * 200)  # below the head: same verdict
    assert not check.check(code.uri, head(code), _ReadOnce(code.lines))
    code.apply_edit((0, 0), (0, 0), SECRET_LINE * 200)  # the head is secrets now
    assert check.check(code.uri, head(code), code.lines)
    other = Document("file:///p/b.txt", CODE_LINE * 300)
    assert not check.check(other.uri, head(other), other.lines)  # another file: read
    assert check.check(code.uri, head(code), code.lines)


# -- masking ---------------------------------------------------------------------------------


def test_masking_replaces_each_secret_and_keeps_the_rest() -> None:
    text = f'a = 1\nT = "{TOKEN}"\nb = 2\nPASSWORD = "hunter2hunter2"\n'
    assert mask_secrets(text) == f'a = 1\nT = "{MASK}"\nb = 2\nPASSWORD = "{MASK}"\n'
    assert mask_secrets(TOKEN) == MASK
    assert mask_secrets("") == ""
    assert mask_secrets(CODE_LINE) == CODE_LINE


def test_a_placeholder_is_never_masked_again() -> None:
    assert mask_secrets('PASSWORD = "<secret>"\n') == 'PASSWORD = "<secret>"\n'
    assert mask_secrets(f'PASSWORD = "<secret-3>"\nT = "{TOKEN}"\n') == (
        f'PASSWORD = "<secret-3>"\nT = "{MASK}"\n'
    )


def test_numbered_placeholders_go_back_to_their_secrets() -> None:
    mask = SecretMask()
    text = f'A = "{TOKEN}"\nB = "{TOKEN}"\nPASSWORD = "hunter2hunter2"\n'
    assert mask.mask(text) == 'A = "<secret-1>"\nB = "<secret-1>"\nPASSWORD = "<secret-2>"\n'
    answer = 'PASSWORD = "<secret-2>"\nA = "<secret-1>"  # not ours: <secret-3> <secret>\n'
    assert mask.unmask(answer) == (
        f'PASSWORD = "hunter2hunter2"\nA = "{TOKEN}"  # not ours: <secret-3> <secret>\n'
    )


def test_a_mask_that_masked_nothing_unmasks_nothing() -> None:
    mask = SecretMask()
    assert mask.mask(CODE_LINE) == CODE_LINE
    assert mask.unmask("<secret-1>") == "<secret-1>"


def test_a_disabled_mask_leaves_the_text_as_it_is() -> None:
    mask = SecretMask(enabled=False)
    text = f'T = "{TOKEN}"\n'
    assert mask.mask(text) == text
    assert mask.unmask("<secret-1>") == "<secret-1>"


# -- masking prompts and suffixes by parts, remembered --------------------------------------------


def test_the_prompt_s_last_line_and_the_suffix_s_first_are_masked_on_their_own() -> None:
    masker = PromptMasker()
    assert masker.prompt(f"x = 1\n{TOKEN}") == f"x = 1\n{MASK}"
    assert masker.prompt(f"T = {TOKEN}\nx = ") == f"T = {MASK}\nx = "
    assert masker.suffix(f"{TOKEN}\nx = 1\n") == f"{MASK}\nx = 1\n"
    assert masker.suffix(f"x = 1\n{TOKEN}\n") == f"x = 1\n{MASK}\n"
    assert masker.prompt(TOKEN) == MASK  # one line: no parts
    assert masker.suffix(TOKEN) == MASK


def test_prompts_typed_on_one_line_are_masked_as_whole_texts_are() -> None:
    masker = PromptMasker()
    head = f"a = 1\nT1 = {TOKEN}\nb = 2\nPASSWORD = 'hunter2hunter2'\n"
    for typed in ("c", "c = ", "c = 3", f"c = {TOKEN}"):
        text = head + typed
        assert masker.prompt(text) == mask_secrets(text)
        assert masker.prompt(text) == mask_secrets(text)  # remembered: the same again
        assert masker.suffix(typed + "\n" + head) == mask_secrets(typed + "\n" + head)


def test_a_value_on_the_line_after_its_name_is_masked_with_it() -> None:
    masker = PromptMasker()
    assert masker.prompt("password:\n  hunter2x9") == "password:\n  <secret>"
    assert masker.suffix("password:\n  hunter2x9\nx = 1") == "password:\n  <secret>\nx = 1"
    text = "x = 1\nPASSWORD = (\n    'hunter2x9'\n)\ny = "
    assert masker.prompt(text) == mask_secrets(text) == text.replace("hunter2x9", MASK)


KEY_BLOCK = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n"
    "AQEFAASCBKcwggSjAgEAAoIBAQ\n-----END RSA PRIVATE KEY-----\n"
)
PUTTY_KEY = (
    "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n"
    "AAAAIGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1\nPrivate-MAC: abc\n"
)


@pytest.mark.parametrize("key", [KEY_BLOCK, PUTTY_KEY], ids=["pem", "putty"])
def test_a_text_with_a_private_key_is_masked_whole(key: str) -> None:
    """A key block spans lines, so masking it line by line would leave its middle out."""
    masker = PromptMasker()
    text = "x = 1\n" + key + "y = "
    assert masker.prompt(text) == mask_secrets(text)
    assert "AQEFAASCBKcwggSjAgEAAoIBAQ" not in masker.prompt(text)
    assert "AAAAIGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1" not in masker.prompt(text)
    assert masker.suffix(key + "y = 1\n") == mask_secrets(key + "y = 1\n")


# -- a cursor inside a secret ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "inside"),
    [
        (f"TOKEN = {TOKEN[:10]}", TOKEN[10:], True),  # inside a token
        (f"TOKEN = {TOKEN}", "", True),  # right at its end
        ("TOKEN = ", TOKEN, False),  # right before it
        ('DB_PASSWORD = "hunter2-Very-Private', '"', True),  # before an auto-closed quote
        ('DB_PASSWORD = "hunter2-Very-Private"', "", False),  # after the closing quote
        ("api_key = '", "", True),  # a value being typed after a secret's name
        ("  api_key = 'abc", "", True),
        ("greeting = '", "'", False),  # after a name that is no secret's
        ("x = 1", "", False),
        ("if token == ", "", False),
    ],
)
def test_a_cursor_inside_a_secret(before: str, after: str, inside: bool) -> None:
    assert cursor_in_secret(before, after) is inside
