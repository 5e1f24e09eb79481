"""Where the credentials are in a text: the spans :mod:`codestral_ls.privacy` masks.

Four kinds of evidence, each cheap enough to run on every completion request (12,000
characters in well under a millisecond, see ``bench/secrets.py``):

- **Provider formats** (``ghp_...``, ``sk_live_...``, ``hf_...``, ``AKIA...``, JWTs, Slack
  webhooks, ...): the formats gitleaks and detect-secrets know. Every pattern starts with a
  literal, so the regex engine finds candidates with its fast substring search.
- **URL userinfo**: the password of ``scheme://user:password@host`` always, and a token used
  as the user name (``https://<token>@github.com``).
- **Authorization values**: ``Bearer ...``, ``Basic ...``, ``Token ...``.
- **Values assigned to a credential's name**: ``DB_PASSWORD=...``, ``"apiKey": "..."``,
  ``password:`` with its value on the next line, ``--password ...``, ``ENV TOKEN ...``. A name
  that *ends* in a credential word (``password``, ``secret``, ``token``, ``api_key``,
  ``credentials``, ``dsn``, ...) masks any value that is not a placeholder or code; a name
  that merely *contains* one (``key``, ``auth``, ``token``, ...) masks only a random-looking
  value (Shannon entropy, digits and letters mixed).

Every pattern is linear on adversarial input: each starts at a literal or a single
character, and every repetition is bounded; names are read backwards from their credential
word in plain code, never by a pattern that could backtrack through the text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

Span = tuple[int, int]

# -- provider formats ---------------------------------------------------------------------------

#: One pattern per family of formats (gitleaks' and detect-secrets' rule sets), each starting
#: with a literal. ``(?![\w-])`` stands where the format ends at a word's end.
_END = r"(?![A-Za-z0-9_-])"
_PROVIDER_PATTERNS = [
    r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])",  # AWS access key id
    r"ABSK[A-Za-z0-9+/]{109,269}={0,2}",  # AWS Bedrock
    r"gh[pousr]_[A-Za-z0-9]{30,255}" + _END,  # GitHub
    r"github_pat_[A-Za-z0-9_]{30,255}",
    r"gl(?:pat|dt|ptt|rt|ft|imt|soat|agent|oas|ffct|cbt)-[0-9A-Za-z_.-]{20,300}",  # GitLab
    r"GR1348941[\w-]{20}",
    r"xox[abposre]-[A-Za-z0-9-]{10,255}",  # Slack tokens
    r"xapp-\d-[A-Za-z0-9-]{10,255}",
    r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{8,80}(?:/[A-Za-z0-9+/]{4,80}){0,3}",
    r"(?:discord|discordapp)\.com/api/webhooks/\d{5,30}/[\w-]{20,100}",
    r"webhook\.office\.com/webhookb2/[\w@/-]{20,300}",
    r"hooks\.zapier\.com/hooks/catch/[\w/]{6,100}",
    r"[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,247}",  # Stripe
    r"whsec_[A-Za-z0-9]{20,100}",
    # OpenAI, Anthropic
    r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d\d-)?[A-Za-z0-9_-]{20,255}",
    r"AIza[0-9A-Za-z_-]{35}",  # Google
    r"GOCSPX-[A-Za-z0-9_-]{20,40}",
    r"ya29\.[0-9A-Za-z_-]{20,2000}",
    # JWT; the look-behind stops a run of "eyJ" from being rescanned at each of them
    r"eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,4000}\.eyJ[A-Za-z0-9_-]{8,8000}\.[A-Za-z0-9_-]{8,2000}",
    r"eyJrIjoi[A-Za-z0-9]{40,400}={0,3}",  # Grafana API key
    r"hf_[A-Za-z0-9]{30,40}" + _END,  # Hugging Face
    r"api_org_[A-Za-z0-9]{30,40}" + _END,
    r"npm_[A-Za-z0-9]{36}" + _END,  # npm
    r"pypi-AgE[A-Za-z0-9_-]{50,1000}",  # PyPI
    r"rubygems_[a-f0-9]{48}",
    r"CLOJARS_[A-Za-z0-9]{60}",
    r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}",  # SendGrid
    r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}",  # Brevo
    r"key-[0-9a-f]{32}" + _END,  # Mailgun
    r"SK[0-9a-f]{32}" + _END,  # Twilio
    r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",  # Shopify
    r"sq0(?:atp|csp)-[0-9A-Za-z_-]{22,60}",  # Square
    r"EAAA[\w-]{22,60}" + _END,
    r"EAA[CM][A-Za-z0-9]{80,400}",  # Facebook
    r"do[opr]_v1_[a-f0-9]{64}",  # DigitalOcean
    r"dapi[a-f0-9]{32}(?:-\d)?",  # Databricks
    r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}",  # Doppler
    r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",  # Dynatrace
    r"pul-[a-f0-9]{40}",  # Pulumi
    r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}",  # Postman
    r"gl(?:c|sa)_[A-Za-z0-9+/_]{32,400}={0,3}",  # Grafana
    r"lin_(?:api|oauth)_[A-Za-z0-9]{40}",  # Linear
    r"ATATT3[A-Za-z0-9_=-]{100,300}",  # Atlassian
    r"NR(?:AK|JS|II)-[A-Za-z0-9]{20,40}",  # New Relic
    r"sntr[ys]u?_[A-Za-z0-9+/=_]{40,400}",  # Sentry
    r"hv[sb]\.[\w-]{90,300}",  # Vault
    r"\.atlasv1\.[A-Za-z0-9_=-]{60,70}",  # Terraform Cloud
    r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
    r"LTAI[A-Za-z0-9]{20}" + _END,  # Alibaba
    r"AKCp[A-Za-z0-9]{69}",  # Artifactory
    r"cmVmd[A-Za-z0-9]{59}",
    r"FLW(?:SECK|PUBK)_(?:TEST|LIVE)-[a-hA-H0-9]{12,32}(?:-X)?",  # Flutterwave
    r"fio-u-[A-Za-z0-9_=-]{64}",  # Frame.io
    r"(?:fo1_[\w-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,2000}={0,3})",  # Fly.io
    r"(?:secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})" + _END,  # Notion
    r"pscale_(?:tkn|pw|oauth)_[\w=.-]{32,64}",  # PlanetScale
    r"pnu_[A-Za-z0-9]{36}",  # Prefect
    r"rdme_[a-z0-9]{70}",  # ReadMe
    r"shippo_(?:live|test)_[a-fA-F0-9]{40}",
    r"EZ[AT]K[A-Za-z0-9]{54}",  # EasyPost
    r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}",
    r"tfp_[A-Za-z0-9_.=-]{59}",  # Typeform
    r"ops_eyJ[A-Za-z0-9+/]{100,2000}={0,3}",  # 1Password
    r"A3-[A-Z0-9]{6}-[A-Z0-9-]{11,12}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}",
    r"sha256~[\w-]{43}",  # OpenShift
    r"pplx-[A-Za-z0-9]{48}",  # Perplexity
    r"HRKU-AA[0-9A-Za-z_-]{58}",  # Heroku
    r"ico-[A-Za-z0-9]{32}" + _END,  # Infracost
    r"s-s4t2(?:ud|af)-[a-f0-9]{64}",  # 42
    r"sm_[aps]at_[A-Za-z0-9]{16}",  # SettleMint
    r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}",  # Cloudflare origin CA
    r"API-[A-Z0-9]{26}" + _END,  # Octopus Deploy
    r"sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}",  # Sourcegraph
    r"AccountKey=[A-Za-z0-9+/]{40,100}={0,2}",  # Azure storage connection string
    r"SharedAccessKey=[A-Za-z0-9+/]{40,100}={0,2}",
    r"_gitlab_session=[0-9a-z]{32}",
    r"AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{30,200}",  # Twitter bearer
    r"Q~[A-Za-z0-9_~.-]{31,34}",  # Azure AD client secret (the part after its 4 characters)
    r":AA[0-9A-Za-z_-]{33}" + _END,  # Telegram bot token (after the bot's number)
    r"\$(?:apr1|2[abxy]|[156]|y|gy|argon2id?)\$[./A-Za-z0-9$=,+]{20,300}",  # password hashes
    r"\{SSHA?\}[A-Za-z0-9+/]{20,100}={0,2}",
]
#: Formats whose match begins inside the secret: the span starts this many characters earlier
#: (Azure AD secrets: three characters and a digit before ``Q~``) or later (Telegram: the colon).
_LEAD = {
    r"Q~[A-Za-z0-9_~.-]{31,34}": -4,
    r":AA[0-9A-Za-z_-]{33}" + _END: 1,
    r"\.atlasv1\.[A-Za-z0-9_=-]{60,70}": -14,
}


def _by_first_character(patterns: list[str]) -> list[tuple[re.Pattern[str], int]]:
    """The patterns compiled as one alternation per first character (with its lead): each
    compiled pattern is one pass over the text, so fewer passes cost less (41 instead of 85
    halves the time, measured); one alternation of all of them is slower still, since the
    engine tries every branch at every position."""
    groups: dict[str, list[str]] = {}
    leads: list[tuple[re.Pattern[str], int]] = []
    for pattern in patterns:
        if pattern in _LEAD:
            leads.append((re.compile(pattern), _LEAD[pattern]))
        else:
            key = pattern[0] if pattern[0] not in "([\\" else pattern[:6]
            groups.setdefault(key, []).append(pattern)
    compiled = [re.compile("|".join(f"(?:{p})" for p in group)) for group in groups.values()]
    return [(pattern, 0) for pattern in compiled] + leads


_PROVIDERS = _by_first_character(_PROVIDER_PATTERNS)
#: Formats that are not a word's tail: ``xghp_...`` is an identifier, not a token.
_WORD_START = re.compile(r"[A-Za-z0-9_]")

# -- private keys ---------------------------------------------------------------------------------

_PRIVATE_KEY = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]{1,20} ){0,4})PRIVATE KEY((?: BLOCK)?)-----.*?"
    r"(?:-----END \1PRIVATE KEY\2-----|\Z)",
    re.DOTALL,
)
#: The rest of a key block whose BEGIN line is not in the text (a suffix that starts inside).
_PRIVATE_KEY_TAIL = re.compile(
    r"\A[A-Za-z0-9+/=\s\\n\"',]{0,20000}?"
    r"-----END (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----"
)
#: PuTTY key files: ``Private-Lines: 14`` followed by base64 lines.
_PUTTY = re.compile(r"Private-Lines: \d{1,3}\r?\n(?:[A-Za-z0-9+/=]{1,200}\r?\n?){1,200}")

# -- URLs -------------------------------------------------------------------------------------

#: ``scheme://user:password@`` (the password may be empty, or the user: ``redis://:pw@``).
_USERINFO = re.compile(
    r"://(?P<user>[^\s:/?#@\"'`<>\\]{0,128})(?::(?P<password>[^\s/?@\"'`<>\\]{1,256}))?@"
)

# -- Authorization values ---------------------------------------------------------------------

_AUTH_SCHEME = re.compile(
    r"(?:Bearer|BEARER|bearer|Basic|BASIC|basic|Token|token|Digest)[ \t]{1,4}"
    r"(?P<value>[A-Za-z0-9._~+/=-]{8,4000})"
)

# -- values assigned to a credential's name -------------------------------------------------

#: What a credential's name ends with (its last words, joined lowercased: ``DB_PASSWORD``,
#: ``clientSecret``, ``x-api-key``, ``SECRET_KEY_BASE``).
_STRONG_ENDINGS = frozenset(
    [
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "pass",
        "secret",
        "secretkey",
        "secretkeybase",
        "token",
        "apikey",
        "accesskey",
        "privatekey",
        "authkey",
        "signingkey",
        "encryptionkey",
        "masterkey",
        "clientkey",
        "appkey",
        "licensekey",
        "consumerkey",
        "webhookkey",
        "servicekey",
        "accountkey",
        "sessionkey",
        "credential",
        "credentials",
        "creds",
        "dsn",
        "connectionstring",
        "connstr",
        "keysecret",
        "apitoken",
        "accesstoken",
        "authtoken",
        "refreshtoken",
        "secretaccesskey",
        "apisecret",
        "clientsecret",
    ]
)
#: Endings also recognised glued to a word before them (``PGPASSWORD``, ``githubtoken``).
_GLUED_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "credentials")
_NAME_WORDS = re.compile(r"[A-Z]{1,60}(?![a-z])|[A-Z]?[a-z]{1,60}|[0-9]{1,60}")


def is_credential_name(name: str) -> bool:
    """Whether the name ``name`` (original case) ends with a credential's word."""
    words = [w.lower() for w in _NAME_WORDS.findall(name[-80:])]
    if not words:
        return False
    for count in (1, 2, 3):
        if len(words) >= count and "".join(words[-count:]) in _STRONG_ENDINGS:
            return True
    return words[-1].endswith(_GLUED_ENDINGS)


#: Words whose presence anywhere in a name allows masking a random-looking value.
_WEAK_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "dsn", "sig", "salt")
#: Where the search for names starts: every credential word, found lowercased.
_ANCHOR_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "dsn", "sig", "salt")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-$@")
#: After a credential word: the rest of the name, a closing quote or bracket, the separator
#: and the value (quoted, bare, or on the next line).
_AFTER_NAME = re.compile(
    r"""(?P<rest>[A-Za-z0-9_.-]{0,60})(?P<close>["'`]?\]?)(?P<gap>[ \t]{0,8})"""
    # the separator: a typed declaration (``TOKEN: &str =``), an operator, an XML attribute
    # or element, or blanks (``ENV TOKEN x``, ``--password x``)
    r"""(?P<sep>:[ \t]{0,8}&?'?[A-Za-z_][A-Za-z0-9_:<>\[\]]{0,40}[ \t]{0,8}=(?!=)"""
    r"""|:=|=>|\?=|\+=|==|=|:|,|value=|>|[ \t](?=[ \t]{0,8}[^\s=:]))[ \t]{0,8}(?:"""
    r"""(?P<quote>["'`])(?P<quoted>[^"'`\r\n]{1,500})(?P=quote)"""
    r"""|(?P<bare>[^\s"'`,;&|()\[\]{}<>\\]{1,500})(?![^\s"'`,;&|)\]}<>\\])"""
    # or on the next line, after ``password:``, ``PASSWORD = (``, ``key: |`` or ``>-``
    r"""|(?:[(\\]|[|>][+-]?)?[ \t]{0,8}\r?\n[ \t]{0,40}"""
    r"""(?:(?P<nquote>["'`])(?P<nquoted>[^"'`\r\n]{1,500})(?P=nquote)"""
    r"""|(?P<nbare>[^\s"'`,;&|()\[\]{}<>\\]{4,500})[ \t]{0,8}(?:\r?\n|\Z)))"""
)
#: Values that are not secrets: empty-ish, placeholders, references to something else.
_NOT_A_VALUE = re.compile(
    r"""^(?:[*xX.•_#-]{1,}|\$.*|.*%[sdr(].*|\{\{.*|.*\$\{.*|%\(.*|%[sdr]|<.*|#\{.*|\{.*\}|@\w+@"""
    r"""|(?i:none|null|nil|true|false|undefined|string|str|bytes|int|bool|optional|required"""
    r"""|password|passwd|pass|pwd|pw|secret|token|user|username|changeit|redacted|hidden|example|placeholder|dummy"""
    r"""|your[_-]?\w*|xxx+|\.\.\.|env|environ|getenv|default|value|secretstr|self|this))$"""
)
_CODE_LIKE = re.compile(r"^[A-Za-z_][A-Za-z_]{0,80}(?:\.[A-Za-z_][A-Za-z0-9_]{0,80}){0,8}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,80}$")
_TYPE_WORDS = frozenset(
    [
        "str",
        "string",
        "int",
        "integer",
        "bool",
        "boolean",
        "bytes",
        "float",
        "number",
        "object",
        "any",
        "list",
        "dict",
        "array",
        "secretstr",
        "secretbytes",
        "optional",
        "none",
        "text",
        "varchar",
        "char",
        "uuid",
        "password",
        "email",
        "url",
    ]
)


def spans(text: str) -> list[Span]:
    """The credentials in ``text``, as sorted, non-overlapping ``(start, end)`` spans."""
    found: list[Span] = []
    found.extend(_provider_spans(text))
    if "PRIVATE KEY" in text or "Private-Lines" in text:
        found.extend(_private_key_spans(text))
    if "://" in text:
        found.extend(_userinfo_spans(text))
    found.extend(_auth_scheme_spans(text))
    found.extend(_assigned_spans(text))
    return _merged(found)


def _merged(found: list[Span]) -> list[Span]:
    if len(found) < 2:
        return found
    found.sort()
    merged = [found[0]]
    for start, end in found[1:]:
        last_start, last_end = merged[-1]
        if start < last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _provider_spans(text: str) -> Iterator[Span]:
    for pattern, lead in _PROVIDERS:
        for match in pattern.finditer(text):
            start = match.start() + lead
            if start < 0 or (lead == 0 and start and _WORD_START.match(text, start - 1)):
                continue
            if lead == 1 and not (start > 1 and text[start - 2].isdigit()):
                continue
            yield start, match.end()


def _private_key_spans(text: str) -> Iterator[Span]:
    for pattern in (_PRIVATE_KEY, _PRIVATE_KEY_TAIL, _PUTTY):
        for match in pattern.finditer(text):
            yield match.span()


def _userinfo_spans(text: str) -> Iterator[Span]:
    for match in _USERINFO.finditer(text):
        password = match["password"]
        if password is not None:
            if not _NOT_A_VALUE.match(password) and password.lower() != "password":
                yield match.span("password")
        elif _random_looking(match["user"], 16):
            yield match.span("user")  # https://<token>@github.com/...


def _auth_scheme_spans(text: str) -> Iterator[Span]:
    for match in _AUTH_SCHEME.finditer(text):
        value = match["value"]
        if _inside_word(text, match.start()):
            continue
        if any(c.isdigit() for c in value) or value.endswith("=") or _random_looking(value, 16):
            yield match.span("value")


def _inside_word(text: str, start: int) -> bool:
    return start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_")


def _assigned_spans(text: str) -> Iterator[Span]:
    """Values assigned to a credential's name, found from each credential word."""
    lower = text.lower()
    seen_names: set[int] = set()
    for word in _ANCHOR_WORDS:
        at = lower.find(word)
        while at >= 0:
            end_of_word = at + len(word)
            start = _name_start(text, at)
            if start not in seen_names:
                span = _assigned_value(text, lower, start, end_of_word)
                if span is not None:
                    seen_names.add(start)
                    yield span
            at = lower.find(word, end_of_word)


def _name_start(text: str, at: int) -> int:
    start = at
    floor = max(0, at - 60)
    while start > floor and text[start - 1] in _NAME_CHARS:
        start -= 1
    return start


def _assigned_value(text: str, lower: str, start: int, end_of_word: int) -> Span | None:
    match = _AFTER_NAME.match(text, end_of_word)
    if match is None:
        return None
    raw_name = text[start : match.end("rest")].strip("$@.-_")
    name = raw_name.lower()
    separator = match["sep"]
    strong = is_credential_name(raw_name)
    if separator == ">" and not (
        start and text[start - 1] == "<" and text.startswith("</", match.end())
    ):
        return None  # only <password>...</password>, not password > 5
    if separator == "," and (
        match["close"] not in ("'", '"')
        or match["quoted"] is None
        or _CODE_LIKE.match(match["quoted"])
    ):
        return None  # f(token, "text"): only a quoted key and value ("API_KEY", "...") count
    if separator in (" ", "\t") and not (strong and _starts_a_setting(text, start)):
        return None  # prose: "pass the token to ..."
    for group in ("quoted", "bare", "nquoted", "nbare"):
        value = match[group]
        if value is not None:
            break
    else:  # pragma: no cover - the pattern always sets one of them
        return None
    quoted = group in ("quoted", "nquoted")
    if group.startswith("n") and not (strong and separator in (":", "=", ":=", "=>")):
        return None
    if group == "nbare" and (_CODE_LIKE.match(value) or value.endswith(":")):
        return None  # if pwd:\n    try:
    if not _acceptable(value, name, match, strong=strong, quoted=quoted, text=text, start=start):
        return None
    return match.span(group)


def _acceptable(
    value: str,
    name: str,
    match: re.Match[str],
    *,
    strong: bool,
    quoted: bool,
    text: str,
    start: int,
) -> bool:
    """Whether ``value``, assigned to ``name``, is a credential rather than code or a label."""
    if _NOT_A_VALUE.match(value) or value.strip() != value:
        return False
    lowered = value.lower()
    if _CODE_LIKE.match(value) and any(word in lowered for word in _WEAK_WORDS):
        return False  # token = self.token, password = get_password
    if _random_looking(value, 16):
        return any(word in name for word in _WEAK_WORDS)
    if not strong:
        return False
    if len(value) < 4 or " " in value or value.isdigit():
        return False
    separator = match["sep"]
    if separator == "==" or separator in (" ", "\t"):
        return any(c.isdigit() for c in value) and value[-1] not in ".,:;"
    if quoted:
        return not _looks_like_prose_or_path(value)
    # A bare value: in code it is an expression; in .env, YAML, INI and shell it is the value.
    if value.lower() in _TYPE_WORDS:
        return False
    if _CODE_LIKE.match(value):
        env_style = (
            separator == "="
            and not match["gap"]
            and _ENV_NAME.match(text[start : match.end("rest")])
        )
        config_style = separator in (":", "=", " ", "\t") and _at_line_start(text, start)
        return bool(env_style or (config_style and separator != "=" and not match["gap"]))
    return not _looks_like_prose_or_path(value)


def _starts_a_setting(text: str, start: int) -> bool:
    """A name at a line's start (``ENV TOKEN x``, ``password x``) or a flag (``--password x``)."""
    return _at_line_start(text, start) or text.startswith("-", start)


def _at_line_start(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    head = text[line_start:start].strip()
    return head in ("", "-", "export", "ENV", "set", "--", "ARG", "#define") or head.endswith("=")


def _looks_like_prose_or_path(value: str) -> bool:
    if value.startswith(("/", "./", "~/", "../", "http:", "https:", "file:")):
        return True
    return value.endswith((".pem", ".key", ".json", ".txt", ".yaml", ".yml", ".p12", ".crt"))


def _random_looking(value: str, minimum: int) -> bool:
    """A value like a generated key: long, letters and digits mixed, high Shannon entropy,
    not words joined by ``_`` or ``-`` (``convert_to_utf8``, ``win32api``)."""
    if len(value) < minimum or len(value) > 4000 or _WORDY.match(value):
        return False
    digits = upper = lower = 0
    for char in value:
        if char.isdigit():
            digits += 1
        elif char.isupper():
            upper += 1
        elif char.islower():
            lower += 1
        elif char not in "+/=_-~":
            return False
    if not (upper or lower) or not digits:
        return False
    if all(c in _HEX for c in value):
        return entropy(value) >= 3.0
    return (digits >= 3 or (upper and lower)) and entropy(value) >= 3.7


_HEX = frozenset("0123456789abcdefABCDEF-")
#: Identifiers made of words: ``convert_to_utf8``, ``user-profile-v2``, ``RegOpenKeyEx``.
_WORDY = re.compile(r"^[A-Za-z]{2,40}[0-9]{0,2}(?:[_-][A-Za-z]{2,40}[0-9]{0,2}){1,20}$")


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    counts = Counter(value)
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values())
