"""Repository context end to end: code from other workspace files reaches the FIM prompt.

The server is started as an editor starts it, with the workspace folder in ``initialize``;
what it sent is read from the fake API's request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.client import EditorSession, server_environment, split_marker
from tests.fake_mistral import FakeMistral
from tests.tools import HANG, eventually

TOKEN = "ghp_" + "Zq7" * 12

FILES = {
    "shop/__init__.py": "",
    "shop/billing.py": '''"""Invoices."""

from decimal import Decimal


def compute_invoice_total(order, *, tax_rate: float = 0.2) -> Decimal:
    """The total of ``order`` with tax, rounded to cents."""
    subtotal = sum(line.price * line.quantity for line in order.lines)
    discount = order.discount or 0
    taxed = (subtotal - discount) * (1 + tax_rate)
    rounded = round(taxed, 2)
    if rounded < 0:
        raise ValueError("negative total")
    if order.currency != "EUR":
        rounded = convert(rounded, order.currency)
    log_total(order, rounded)
    return Decimal(rounded)
''',
    "shop/secrets.py": "def load_signing_key():\n    return open('/etc/key').read()\n",
    "shop/gateway.py": f'GATEWAY_TOKEN = "{TOKEN}"\n\n\ndef charge_card(card, amount):\n    ...\n',
    "shop/orders.py": "class Order:\n    def apply_discount(self, percent: int) -> None:\n"
    "        self.discount = percent\n",
}

APP = """from shop.billing import compute_invoice_total
from shop.secrets import load_signing_key
from shop.gateway import GATEWAY_TOKEN, charge_card


def checkout(order, card):
    key = load_signing_key()
    |total = compute_invoice_total(order, tax_rate=0.1)
    charge_card(card, total)
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest_asyncio.fixture
async def session(fake: FakeMistral, workspace: Path) -> AsyncIterator[EditorSession]:
    fake.fim_responder = lambda body: "pass"
    session = await EditorSession.start(
        "neovim", server_environment(fake.base_url), workspace=workspace.as_uri()
    )
    yield session
    await session.stop()


async def stats(session: EditorSession):
    return await asyncio.wait_for(session.request("codestral/stats", None).future, HANG)


async def test_an_imported_definition_from_another_workspace_file_is_in_the_fim_prompt(
    fake: FakeMistral, session: EditorSession, workspace: Path
) -> None:
    text, line, index = split_marker(APP)
    uri = (workspace / "shop" / "app.py").as_uri()
    session.open(uri, text)
    await session.inline(uri, line, index, invoked=True)
    prompt = fake.fim_requests[-1].body["prompt"]
    assert (
        "# Path: shop/billing.py\n"
        "# def compute_invoice_total(order, *, tax_rate: float = 0.2) -> Decimal:\n"
        '#     """The total of ``order`` with tax, rounded to cents."""\n'
    ) in prompt
    assert "# Path: shop/gateway.py" in prompt and "# def charge_card(card, amount):" in prompt
    assert prompt.endswith("# Path: shop/app.py\n" + text[: text.index("total =")])
    # secrets.py matches the default excludeGlobs: nothing of it is read, let alone sent.
    assert "def load_signing_key" not in prompt
    # gateway.py is sent, its token masked.
    assert TOKEN not in prompt and "GATEWAY_TOKEN = " in prompt
    counts = (await stats(session)).context
    # compute_invoice_total, charge_card and GATEWAY_TOKEN in every prompt built
    assert counts.prompts_with_context >= 1
    assert counts.snippets.imports == 3 * counts.prompts_with_context


async def test_a_method_defined_elsewhere_is_found_through_the_workspace_index(
    fake: FakeMistral, session: EditorSession, workspace: Path
) -> None:
    async def index_ready() -> bool:  # built in the background after `initialized`
        return (await stats(session)).context.index.ready

    await eventually(index_ready, "the workspace index")
    assert (await stats(session)).context.index.files == 4  # secrets.py excluded
    text, line, index = split_marker("def sale(order):\n    |order.apply_discount(10)\n")
    uri = (workspace / "shop" / "sale.py").as_uri()
    session.open(uri, text)
    await session.inline(uri, line, index, invoked=True)
    prompt = fake.fim_requests[-1].body["prompt"]
    assert "# Path: shop/orders.py\n#     def apply_discount(self, percent: int) -> None:" in prompt


async def test_context_chars_zero_sends_the_current_file_only(
    fake: FakeMistral, workspace: Path
) -> None:
    fake.fim_responder = lambda body: "pass"
    session = await EditorSession.start(
        "neovim",
        server_environment(fake.base_url),
        options={"contextChars": 0},
        workspace=workspace.as_uri(),
    )
    try:
        text, line, index = split_marker(APP)
        uri = (workspace / "shop" / "app.py").as_uri()
        session.open(uri, text)
        await session.inline(uri, line, index, invoked=True)
        assert fake.fim_requests[-1].body["prompt"] == text[: text.index("total =")]
    finally:
        await session.stop()


async def test_a_large_class_a_package_re_exports_with_a_star_reaches_the_prompt_as_an_outline(
    fake: FakeMistral, tmp_path: Path
) -> None:
    """``from api import Client`` where ``api/__init__.py`` says ``from ._client import *``
    (httpx's layout): the class is found through the star re-export, and its outline gives
    the constructor and public methods one line each, its private helpers left out."""
    helpers = "".join(f"    def _helper_{i}(self) -> None:\n        pass\n\n" for i in range(40))
    client = (
        "class Client:\n"
        '    """Talks to the API."""\n\n'
        "    def __init__(\n        self,\n        base_url: str,\n        *,\n"
        "        timeout: float = 5.0,\n    ) -> None:\n        self.base_url = base_url\n\n"
        + helpers
        + "    def get(\n        self,\n        path: str,\n    ) -> bytes:\n        return b''\n"
    )
    files = {"api/__init__.py": "from ._client import *\n", "api/_client.py": client}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    fake.fim_responder = lambda body: "pass"
    session = await EditorSession.start(
        "neovim",
        server_environment(fake.base_url),
        options={"contextSources": ["imports"]},
        workspace=tmp_path.as_uri(),
    )
    try:
        text, line, index = split_marker("from api import Client\n\nc = |Client('x')\n")
        uri = (tmp_path / "main.py").as_uri()
        session.open(uri, text)
        await session.inline(uri, line, index, invoked=True)
        prompt = fake.fim_requests[-1].body["prompt"]
        assert (
            "# Path: api/_client.py\n"
            "# class Client:\n"
            '#     """Talks to the API."""\n'
            "#     def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:\n"
            "#     def get(self, path: str) -> bytes:\n"
            "#     ...\n"
        ) in prompt
        assert "_helper_" not in prompt
    finally:
        await session.stop()
