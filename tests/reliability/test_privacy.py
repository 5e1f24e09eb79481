"""Content exclusion and secret masking (privacy.py): the functions, and the engine skipping
a cursor inside a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codestral_ls.config import Settings
from codestral_ls.documents import Cursor, Document
from codestral_ls.engine import CompletionEngine
from codestral_ls.privacy import (
    DEFAULT_EXCLUDE_GLOBS,
    MASK,
    PromptMasker,
    SecretMask,
    cursor_in_secret,
    is_excluded,
    mask_secrets,
)
from tests.e2e.client import EditorSession, server_environment
from tests.fake_mistral import FakeMistral
from tests.reliability.test_security import KEY, assert_nothing_leaked, key_environment, start

GLOBS = Settings().exclude_globs


def test_the_setting_defaults_to_the_documented_globs() -> None:
    assert tuple(GLOBS) == DEFAULT_EXCLUDE_GLOBS


@pytest.mark.parametrize(
    "path",
    [
        "/p/.env",
        "/p/.env.local",
        "/p/certs/server.pem",
        "/p/tls.key",
        "/home/u/.ssh/id_rsa",
        "/home/u/.ssh/id_rsa.pub",
        "/home/u/.ssh/id_ed25519",
        "/p/vault.kdbx",
        "/p/config/secrets.yaml",
        "/p/.git/config",
        "/p/.git/hooks/pre-commit",
        "/p/.git/COMMIT_EDITMSG",
    ],
)
def test_default_globs_exclude(path: str) -> None:
    assert is_excluded("file://" + path, GLOBS)


@pytest.mark.parametrize(
    "path", ["/p/app.py", "/p/environment.py", "/p/keys.py", "/p/git/notes.md", "/p/.gitignore"]
)
def test_ordinary_files_are_sent(path: str) -> None:
    assert not is_excluded("file://" + path, GLOBS)


def test_custom_globs_and_escaped_uris() -> None:
    assert is_excluded("file:///p/config/prod%20settings.json", ["prod settings.json"])
    assert is_excluded("file:///p/deploy/creds/a.txt", ["creds/*"])
    assert not is_excluded("file:///p/app.py", [])


@pytest.mark.parametrize(
    "secret",
    [
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "ghp_" + "a1B2" * 9,
        "github_pat_" + "a1B2_" * 8,
        "xoxb-" + "1234567890-abcdefghij",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0",
        "sk-proj-" + "abcdefghijklmnopqrstuv",
    ],
)
def test_token_formats_are_masked(secret: str) -> None:
    text = f"client = make(token_value={secret!r})\nprint(client)\n"
    masked = mask_secrets(text)
    assert secret not in masked and MASK in masked
    assert masked.endswith("\nprint(client)\n")


def test_assignments_and_key_blocks_are_masked() -> None:
    text = (
        'API_KEY = "abcd1234efgh5678"\n'
        "config = {'password': 'hunter2hunter2'}\n"
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
        "x = 1\n"
    )
    masked = mask_secrets(text)
    for secret in ("abcd1234efgh5678", "hunter2hunter2", "b3BlbnNzaC1rZXktdjEAAAAA"):
        assert secret not in masked
    assert masked == f"API_KEY = \"{MASK}\"\nconfig = {{'password': '{MASK}'}}\n{MASK}\nx = 1\n"


def test_halves_of_a_key_block_cut_by_the_cursor_are_masked() -> None:
    prompt = "KEY = '''\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B"
    suffix = "AQEFAASCBKcwggSjAgEAAoIBAQ\n-----END PRIVATE KEY-----\n'''\nrun()\n"
    assert mask_secrets(prompt) == "KEY = '''\n" + MASK
    assert mask_secrets(suffix) == MASK + "\n'''\nrun()\n"


def test_ordinary_code_is_unchanged() -> None:
    code = (
        "def tokenize(text):\n    token = next_token(text)\n    password_field = form['pw']\n"
        "    secret = os.environ['SECRET']\n    return token\n"
    )
    assert mask_secrets(code) == code


def test_numbered_masks_come_back_where_the_answer_kept_them() -> None:
    github = "ghp_" + "a1B2" * 9
    text = f'A = "{github}"\nB = "{github}"\nPASSWORD = "hunter2hunter2"\n'
    mask = SecretMask()
    masked = mask.mask(text)
    assert masked == 'A = "<secret-1>"\nB = "<secret-1>"\nPASSWORD = "<secret-2>"\n'
    assert mask.mask(masked) == masked  # placeholders are not masked again
    answer = 'PASSWORD = "<secret-2>"\nA = B = "<secret-1>"  # <secret-9> is not ours\n'
    assert mask.unmask(answer) == (
        f'PASSWORD = "hunter2hunter2"\nA = B = "{github}"  # <secret-9> is not ours\n'
    )


def test_a_disabled_mask_sends_the_text_as_it_is() -> None:
    text = 'API_KEY = "abcd1234efgh5678"\n'
    mask = SecretMask(enabled=False)
    assert mask.mask(text) == text and mask.unmask("<secret-1>") == "<secret-1>"


PIECES = [
    "x = 1",
    'API_KEY = "abcd1234efgh5678"',
    "config = {'password': 'hunter2hunter2'}",
    "token = next_token(text)",
    "ghp_" + "a1B2" * 9,
    "-----BEGIN RSA PRIVATE KEY-----",
    "MIIEvQIBADANBgkqhkiG9w0B",
    "-----END RSA PRIVATE KEY-----",
    "é😀",
    "    ",
    "\n",
    "\r\n",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12), min_size=1, max_size=6))
def test_masking_by_parts_equals_masking_whole(texts: list[list[str]]) -> None:
    """The remembered, line-by-part masking of successive prompts and suffixes gives exactly
    what masking each text whole gives."""
    masker = PromptMasker(remembered=3)
    for pieces in texts:
        text = "".join(pieces)
        assert masker.prompt(text) == mask_secrets(text)
        assert masker.suffix(text) == mask_secrets(text)
        assert masker.prompt(text + "y") == mask_secrets(text + "y")  # one more keystroke


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('DB_PASSWORD = "hunter2-Very-Private', '"'),  # before an auto-closed quote
        ('DB_PASSWORD = "hunter2-Very-Priv', 'ate"'),  # inside the value
        ("api_key = '", ""),  # a value being typed
        ("TOKEN = ghp_" + "a1B2" * 5, "a1B2" * 4),  # inside a token
    ],
)
def test_a_cursor_inside_a_secret_is_recognised(before: str, after: str) -> None:
    assert cursor_in_secret(before, after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('DB_PASSWORD = "hunter2-Very-Private"', ""),  # after the closing quote: masked whole
        ("greeting = '", "'"),  # not a secret's name
        ("if token == ", ""),
        ("x = 1", ""),
    ],
)
def test_ordinary_cursors_are_not_in_a_secret(before: str, after: str) -> None:
    assert not cursor_in_secret(before, after)


async def test_no_completion_is_asked_for_inside_a_secret(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    secret = "hunter2-Very-Private-Passw0rd"
    document = Document("file:///w/settings.py", f'DB_PASSWORD = "{secret}"\nx = \n')
    before_quote = Cursor(0, len(f'DB_PASSWORD = "{secret}'))
    assert await engine.complete(document, before_quote, invoked=True) is None
    await engine.complete(document, Cursor(1, 4), invoked=True)  # elsewhere: masked
    [request] = fake.fim_requests
    assert secret not in json.dumps(request.body)


async def test_through_lsp_a_password_before_an_auto_closed_quote_is_not_sent(
    fake: FakeMistral,
) -> None:
    secret = "hunter2-Very-Private-Passw0rd"
    session = await EditorSession.start(
        "neovim", server_environment(fake.base_url), {"alternatives": 1}
    )
    try:
        uri = "file:///project/settings.py"
        session.open(uri, f'DB_PASSWORD = "{secret}"\nx = \n')
        result = await session.inline(uri, 0, len(f'DB_PASSWORD = "{secret}'), invoked=True)
        assert list(result.items) == []
        await session.inline(uri, 1, 4, invoked=True)  # elsewhere in the file: masked, sent
        [request] = fake.fim_requests
        assert secret not in json.dumps(request.body)
    finally:
        await session.stop()


# -- a key setting of the wrong type is never echoed -------------------------------------------

LUA_TABLE_KEY = "sk-codestral-LUATABLE-9c1d2e3f4a5b"


@pytest.mark.parametrize(
    "value",
    [[LUA_TABLE_KEY], {"1": LUA_TABLE_KEY}, {"key": {"nested": [LUA_TABLE_KEY]}}],
    ids=["lua-list", "object", "nested"],
)
def test_a_key_of_the_wrong_type_is_named_never_printed(value: object, tmp_path: Path) -> None:
    """``apiKey = { "sk-..." }`` in a Lua config arrives as a list or an object: the pop-up,
    window/logMessage, stdout, stderr and the debug log file name the setting, not the key."""
    with FakeMistral(api_key=KEY) as fake:
        env = key_environment(fake.base_url)
        with start(env, tmp_path, {"apiKey": value, "selfHostedApiKey": value}) as server:
            assert server.wait_for(lambda: server.messages())
            message = server.messages()[0]
            assert "'apiKey' must be a string" in message  # the pop-up may cut the second
            assert server.shutdown_and_exit() == 0
    assert_nothing_leaked(server, tmp_path, LUA_TABLE_KEY)


def test_the_settings_problem_for_a_key_holds_no_value() -> None:
    key = {"k": LUA_TABLE_KEY}
    _settings, problems = Settings.from_options({"apiKey": key, "selfHostedApiKey": [key]})
    assert problems == [
        "'apiKey' must be a string (value not shown)",
        "'selfHostedApiKey' must be a string (value not shown)",
    ]
