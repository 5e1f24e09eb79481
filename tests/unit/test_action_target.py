"""The target rule of code actions: a statement inside a function is not a function header.

``is_header`` recognises C-style headers (``int main(void) {``) by shape: a word, a name and
parentheses. ``assert f(x)``, ``raise E(x)``, ``throw new E(x)`` have that shape too; taken for
headers, they made Refactor, Explain and docstring work on that one line instead of the function
around the cursor (issue 11, item 4).
"""

from __future__ import annotations

import pytest

from codestral_ls.actions.target import find_target, is_header
from codestral_ls.documents import Cursor, Document

# (language, function header, statement in its body, closer or "")
STATEMENTS = [
    ("python", "def load(d, k):", "assert f(x)", ""),
    ("python", "def load(d, k):", "raise KeyError(k)", ""),
    ("python", "def load(d, k):", "yield f(x)", ""),
    ("python", "async def load(d, k):", "await f(x)", ""),
    ("python", "def load(d, k):", "del d[k]", ""),
    ("python", "def load(d, k):", "print(f(x))", ""),
    ("python", "def load(d, k):", "return f(x)", ""),
    ("javascript", "function load(d, k) {", "throw new Error(k)", "}"),
    ("javascript", "async function load(d, k) {", "await fetch(k)", "}"),
    ("javascript", "function* load(d, k) {", "yield next(k)", "}"),
    ("javascript", "function load(d, k) {", "delete d[k]", "}"),
    ("javascript", "function load(d, k) {", "new Widget(k)", "}"),
    ("typescript", "export async function load(d: D, k: string) {", "await save(d)", "}"),
    ("java", "public void load(Map d, String k) {", "throw new IllegalStateException(k)", "}"),
    ("java", "public void load(Map d, String k) {", "assert check(k)", "}"),
    ("cpp", "int load(std::map<int, int>& d, int k) {", "delete lookup(k)", "}"),
    ("cpp", "int load(std::map<int, int>& d, int k) {", "throw std::out_of_range(k)", "}"),
    ("cpp", "int load(std::map<int, int>& d, int k) {", "co_await fetch(k)", "}"),
    ("go", "func load(d map[int]int, k int) {", "go worker(k)", "}"),
    ("go", "func load(d map[int]int, k int) {", "defer close(k)", "}"),
    ("rust", "fn load(d: &mut Map, k: u32) {", "assert!(check(k))", "}"),
    ("php", "function load($d, $k) {", "echo render($k)", "}"),
    ("ruby", "def load(d, k)", "raise ArgumentError(k)", "end"),
    ("ruby", "def load(d, k)", "puts format(k)", "end"),
]


@pytest.mark.parametrize(("language", "header", "statement", "closer"), STATEMENTS)
def test_a_statement_in_a_function_targets_the_function(
    language: str, header: str, statement: str, closer: str
) -> None:
    lines = [header, "    x = prepare(k)", f"    {statement}", "    return x"]
    if closer:
        lines.append(closer)
    document = Document("file:///p/f.src", "\n".join(lines) + "\n", language_id=language)
    assert not is_header(f"    {statement}")
    target = find_target(document, Cursor(2, 6), Cursor(2, 6))
    assert target is not None
    assert (target.start.line, target.end.line) == (0, len(lines) - 1)
    assert target.chosen_by == "block"


@pytest.mark.parametrize(
    "header",
    [
        "int main(void) {",
        "static int add(int a, int b)",
        "std::string Widget::name() const {",
        "public static void main(String[] args) {",
        "def add(a, b):",
        "func (s *Server) Serve(l net.Listener) error {",
        "  public async load(url: string): Promise<void> {",
        "fn add(a: i32) -> i32 {",
    ],
)
def test_real_headers_are_still_headers(header: str) -> None:
    assert is_header(header)
