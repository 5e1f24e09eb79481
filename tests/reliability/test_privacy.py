"""Content exclusion and secret masking (privacy.py): the functions, and the engine skipping
a cursor inside a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from bench.secrets import load_samples
from codestral_ls.config import Settings
from codestral_ls.documents import Cursor, Document
from codestral_ls.engine import CompletionEngine
from codestral_ls.privacy import (
    DEFAULT_EXCLUDE_GLOBS,
    MASK,
    PromptMasker,
    SecretMask,
    cursor_in_secret,
    effective_globs,
    is_excluded,
    is_withheld,
    mask_secrets,
    mostly_secrets,
)
from tests.actions_client import ActionEditor, capabilities
from tests.e2e.client import EditorSession, server_environment
from tests.fake_mistral import FakeMistral
from tests.reliability.test_security import KEY, assert_nothing_leaked, key_environment, start

GLOBS = Settings().exclude_globs


def test_the_built_in_globs_apply_when_the_setting_is_empty() -> None:
    assert GLOBS == []
    assert effective_globs(()) == DEFAULT_EXCLUDE_GLOBS


#: Every credential file issue 13 found sent whole, and the usual others; some in odd case.
CREDENTIAL_FILES = [
    "/p/.env",
    "/p/.env.local",
    "/p/.ENV",
    "/p/prod.env",
    "/p/.envrc",
    "/p/certs/server.pem",
    "/p/tls.key",
    "/home/u/.ssh/id_rsa",
    "/home/u/.ssh/id_rsa.pub",
    "/home/u/.ssh/id_ed25519",
    "/home/u/.ssh/id_ecdsa",
    "/home/u/.ssh/id_dsa",
    "/home/u/.ssh/config",
    "/home/u/.ssh/authorized_keys",
    "/home/u/.gnupg/private-keys-v1.d/ABC.key",
    "/home/u/.aws/credentials",
    "/home/u/.aws/config",
    "/home/u/.docker/config.json",
    "/home/u/.netrc",
    "/home/u/.npmrc",
    "/home/u/.pypirc",
    "/home/u/.pgpass",
    "/home/u/.git-credentials",
    "/home/u/.kube/config",
    "/p/deploy/kubeconfig",
    "/p/deploy/kubeconfig.yaml",
    "/p/infra/terraform.tfvars",
    "/p/infra/prod.auto.tfvars",
    "/p/infra/terraform.tfstate",
    "/p/site/.htpasswd",
    "/p/certs/client.p12",
    "/p/certs/client.PFX",
    "/p/android/release.jks",
    "/p/android/app.keystore",
    "/p/gcp/service-account.json",
    "/p/gcp/my-project-service-account-key.json",
    "/p/vault.kdbx",
    "/p/config/secrets.yaml",
    "/p/config/Secrets.yaml",
    "/p/.git/config",
    "/p/.git/hooks/pre-commit",
]


@pytest.mark.parametrize("path", CREDENTIAL_FILES)
def test_default_globs_exclude(path: str) -> None:
    assert is_excluded("file://" + path, GLOBS)


@pytest.mark.parametrize(
    "path",
    [
        "/p/app.py",
        "/p/environment.py",
        "/p/keys.py",
        "/p/git/notes.md",
        "/p/.gitignore",
        "/p/tokenizer.py",
        "/p/docker-compose.yml",
        "/p/README.md",
        "/p/envoy.yaml",
        "/p/main.tf",
        "/p/credentials_test.go",
    ],
)
def test_ordinary_files_are_sent(path: str) -> None:
    assert not is_excluded("file://" + path, GLOBS)


def test_custom_globs_add_to_the_defaults_and_bang_removes_one() -> None:
    assert is_excluded("file:///p/config/prod%20settings.json", ["prod settings.json"])
    assert is_excluded("file:///p/deploy/creds/a.txt", ["creds/*"])
    assert is_excluded("file:///p/.env", ["creds/*"])  # the defaults stay
    assert not is_excluded("file:///p/.git/config", ["!.git/*"])
    assert not is_excluded("file:///p/.ENV.example", ["!.ENV*"])  # removing ignores case too
    assert not is_excluded("file:///p/app.py", [])


def test_a_file_mostly_of_credentials_is_withheld_under_any_name() -> None:
    token = "ghp_" + "a1B2" * 9
    dotenv = ["# local settings\n", "DB_PASSWORD=hunter2x9\n", f"GH={token}\n", "DEBUG=1\n"]
    assert mostly_secrets(dotenv)
    assert is_withheld("file:///p/settings.txt", dotenv, [], detect=True)
    assert not is_withheld("file:///p/settings.txt", dotenv, [], detect=False)
    code = [f"x{i} = compute({i})\n" for i in range(20)] + [f'TOKEN = "{token}"\n']
    assert not mostly_secrets(code)
    assert not mostly_secrets([])


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


SAMPLES = load_samples()


def test_the_corpus_is_large_and_varied() -> None:
    assert len(SAMPLES) >= 150
    assert len({s.kind for s in SAMPLES}) >= 15
    assert all(s.secrets for s in SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_every_corpus_secret_is_masked(sample) -> None:
    masked = mask_secrets(sample.text)
    for secret in sample.secrets:
        assert secret not in masked, masked


def test_the_projects_own_code_is_sent_unchanged() -> None:
    """The negative corpus in miniature: nothing in the server's own sources is a secret
    (bench/secrets.py adds the standard library)."""
    root = Path(__file__).resolve().parents[2] / "codestral_ls"
    for path in sorted(root.rglob("*.py")):
        text = path.read_text("utf-8")
        assert mask_secrets(text) == text, path


@pytest.mark.parametrize(
    "line",
    [
        "    token = next_token(text)",
        "    password = getpass.getpass()",
        "    self.token = token",
        "    api_key: str | None = None",
        '    if token == "lambda":',
        "    key = lambda item: item.name",
        'PASSWORD_PROMPT = "Enter your password: "',
        '    headers["Authorization"] = f"Bearer {api_key}"',
        '    url = f"postgres://{user}:{password}@{host}/db"',
        "    url = 'https://%s:%s@%s' % (user, password, host)",
        '    password = os.environ["DB_PASSWORD"]',
        "    secret_key = settings.SECRET_KEY",
        '    token_type = "bearer"',
        '    password: "${DB_PASSWORD}"',
        "    # pass the token to the next stage",
        "    sort_key = 'created_at_desc'",
        '    cache_key = f"user:{user_id}:profile"',
        "    RegOpenKeyEx = win32api.RegOpenKeyEx",
        "    if pwd:\n        try:",
        "    pass\n",
    ],
)
def test_ordinary_lines_are_unchanged(line: str) -> None:
    assert mask_secrets(line) == line


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
    "DB_URL = 'postgres://app:Sup3r-s3cret@db/app'",
    "password:",
    "  hunter2x9",
    "PASSWORD = (",
    '    "tiny1"',
    ")",
    "Authorization: Bearer abc123def456",
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


ORDINARY = "".join(f"total_{i} = compute(total_{i - 1}, {i})\n" for i in range(1, 9))


async def test_no_completion_is_asked_for_inside_a_secret(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    secret = "hunter2-Very-Private-Passw0rd"
    # Ordinary lines around it: a file mostly of credentials would send nothing at all.
    document = Document("file:///w/settings.py", f'DB_PASSWORD = "{secret}"\nx = \n' + ORDINARY)
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
        session.open(uri, f'DB_PASSWORD = "{secret}"\nx = \n' + ORDINARY)
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


# -- end to end through LSP: every form issue 13 found sent verbatim ------------------------------

ISSUE_FORMS = [s for s in SAMPLES if s.from_issue]
#: Plain lines between the samples: the document is ordinary code with credentials in it, not
#: a file mostly of credentials (which would send nothing at all).
FILLER = "".join(f"result_{i} = transform(result_{i - 1}, step={i})\n" for i in range(1, 7))
WHOLE = {
    "maxPrefixChars": 200_000,
    "maxSuffixChars": 200_000,
    "debounceMs": 0,
    "alternatives": 1,
}


def issue_document() -> tuple[str, int]:
    """All the issue's forms, each followed by plain lines; and a plain line in the middle."""
    parts = [sample.text.rstrip("\n") + "\n" + FILLER for sample in ISSUE_FORMS]
    middle = "".join(parts[: len(parts) // 2]).count("\n") + 2
    return "".join(parts), middle


def sent_strings(value: object) -> str:
    """Every string of a request body, decoded (a JSON dump would hide escaped secrets)."""
    if isinstance(value, str):
        return value + "\n"
    if isinstance(value, dict):
        return "".join(sent_strings(v) for v in value.values())
    if isinstance(value, list):
        return "".join(sent_strings(v) for v in value)
    return ""


def assert_masked(sent: str) -> None:
    leaked = [(s.id, x) for s in ISSUE_FORMS for x in s.secrets if x in sent]
    assert leaked == []
    assert sent.count("<secret") >= sum(len(s.secrets) for s in ISSUE_FORMS) // 2


def test_the_issue_forms_are_in_the_corpus() -> None:
    assert len(ISSUE_FORMS) >= 40


async def test_through_lsp_every_issue_form_is_masked_in_prompt_and_suffix(
    fake: FakeMistral,
) -> None:
    text, middle = issue_document()
    session = await EditorSession.start("neovim", server_environment(fake.base_url), WHOLE)
    try:
        uri = "file:///project/deploy.py"
        session.open(uri, text)
        await session.inline(uri, middle, 0, invoked=True)
        [request] = fake.fim_requests
        prompt, suffix = request.body["prompt"], request.body["suffix"]
        assert "result_6" in prompt and "result_6" in suffix  # both halves were sent
        assert prompt.count("\n") + suffix.count("\n") >= text.count("\n") - 1  # all of it
        assert_masked(prompt + suffix)
    finally:
        await session.stop()


async def test_through_lsp_every_issue_form_is_masked_in_the_chat_messages(
    fake: FakeMistral,
) -> None:
    text, _middle = issue_document()
    fake.chat_responder = lambda body: "It deploys the service."
    editor = await ActionEditor.start(fake.base_url, capabilities(), WHOLE)
    try:
        uri = "file:///project/deploy.py"
        editor.open(uri, text)
        lines = text.count("\n")
        everything = types.Range(
            start=types.Position(line=0, character=0),
            end=types.Position(line=lines, character=0),
        )
        await editor.run(await editor.action(uri, everything, "Codestral: Explain"))
        [request] = fake.chat_requests
        sent = sent_strings(request.body["messages"])
        assert sent.count("result_6 = transform") == len(ISSUE_FORMS)  # the whole selection
        assert_masked(sent)
    finally:
        await editor.stop()


#: The credential files of issue 13, with what they usually hold.
CREDENTIAL_FILE_TEXTS = {
    "/home/u/.aws/credentials": "[default]\naws_access_key_id = AKIAABCDEFGHIJKLMNOP\n"
    "aws_secret_access_key = abcdefghijklmnopqrstuvwxyz0123456789ABCD\n",
    "/home/u/.netrc": "machine api.heroku.com\n  login me@example.com\n  password hunter2\n",
    "/home/u/.npmrc": "registry=https://registry.npmjs.org/\nalways-auth=true\n",
    "/home/u/.pypirc": "[distutils]\nindex-servers = pypi\n",
    "/home/u/.docker/config.json": '{"credsStore": "desktop"}\n',
    "/p/prod.env": "DEBUG=0\nWORKERS=4\n",
    "/p/infra/terraform.tfvars": 'region = "eu-west-1"\n',
    "/p/deploy/kubeconfig": "apiVersion: v1\nkind: Config\n",
    "/p/site/.htpasswd": "admin:$apr1$abc$xyz\n",
    "/home/u/.ssh/id_ecdsa": "not a key, but the name says it is\n",
    "/home/u/.ssh/id_dsa": "not a key, but the name says it is\n",
    "/p/certs/client.p12": "binary\n",
    "/p/gcp/service-account.json": '{"type": "service_account"}\n',
    "/p/.ENV": "DEBUG=1\n",
    "/p/config/Secrets.yaml": "debug: true\n",
    # not a credential file by name, but made of credentials
    "/p/notes/keys.txt": "github: ghp_a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2a1B2\nstripe: sk_live_"
    "4eC39HqLyjWDarjtT1zdp7dc\n",
}


async def test_through_lsp_credential_files_get_no_request_and_no_code_action(
    fake: FakeMistral,
) -> None:
    session = await EditorSession.start("neovim", server_environment(fake.base_url), WHOLE)
    editor = await ActionEditor.start(fake.base_url, capabilities(), WHOLE)
    try:
        for path, text in CREDENTIAL_FILE_TEXTS.items():
            uri = "file://" + path
            session.open(uri, text, language="plaintext")
            editor.open(uri, text, language="plaintext")
            result = await session.inline(uri, 1, 0, invoked=True)
            assert result is None or list(result.items) == [], path
            everything = types.Range(
                start=types.Position(line=0, character=0),
                end=types.Position(line=text.count("\n"), character=0),
            )
            assert await editor.actions(uri, everything) == [], path
        # The same server does send an ordinary file: the empty answers above were the rule.
        session.open("file:///p/app.py", "def add(a, b):\n    \n")
        await session.inline("file:///p/app.py", 1, 4, invoked=True)
        assert len(fake.fim_requests) == 1 and fake.chat_requests == []
    finally:
        await session.stop()
        await editor.stop()
