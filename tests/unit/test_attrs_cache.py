"""The attrs method cache (codestral_ls/attrs_cache.py): the code reused is the code attrs
compiles, a start reuses what the previous one compiled, and nothing wrong with the file or
with attrs turns into an error."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import types
from pathlib import Path

import attrs
import pytest

from codestral_ls import attrs_cache

#: Prints, as JSON, what the cache did and the bytes of methods attrs generated for
#: lsprotocol classes (a few shapes: small, large, with defaults, frozen-like enums aside).
_PROBE = """
import json, linecache, marshal, sys
from pathlib import Path
from codestral_ls import attrs_cache
directory = sys.argv[1]
if directory == "-":
    from lsprotocol import types
    use = None
else:
    with attrs_cache.reusing_compiled_methods(Path(directory)) as use:
        from lsprotocol import types
methods = {}
for name in ("Position", "InitializeParams", "CompletionItem", "InlineCompletionParams"):
    cls = getattr(types, name)
    for method in ("__init__", "__eq__", "__repr__"):
        methods[f"{name}.{method}"] = marshal.dumps(getattr(cls, method).__code__).hex()
print(json.dumps({
    "reused": use and use.reused, "compiled": use and use.compiled,
    "written": use and use.written, "off": use and use.off, "methods": methods,
    "position": repr(types.Position(line=1, character=2)),
    "source_kept": sum(str(k).startswith("<attrs generated ") for k in linecache.cache),
}))
"""


def _probe(directory: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # attrs salts __hash__ with str hashes
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, directory],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    return json.loads(run.stdout)


def test_a_second_start_reuses_the_very_code_attrs_compiled(tmp_path: Path) -> None:
    plain = _probe("-")
    first = _probe(str(tmp_path))
    second = _probe(str(tmp_path))

    assert first["off"] == "" and first["reused"] == 0 and first["compiled"] > 500
    assert first["written"] is True
    assert second["reused"] == first["compiled"] and second["compiled"] == 0
    assert second["written"] is False  # nothing new: the file is left as it is
    # Byte for byte the code attrs compiles itself (same source, file name, future flags).
    assert first["methods"] == plain["methods"]
    assert second["methods"] == plain["methods"]
    assert second["position"] == plain["position"] == "1:2"  # lsprotocol's own __repr__
    # The generated source is not kept for debuggers (1.9 MB): attrs still stores it with
    # linecache.cache.setdefault, the one call the block answers without storing.
    assert plain["source_kept"] > 500
    assert first["source_kept"] == second["source_kept"] == 0


def _define_class(name: str) -> type:
    return attrs.define(type(name, (), {"__annotations__": {"value": "int"}}))


def test_attrs_compiles_through_the_one_function_the_cache_replaces(tmp_path: Path) -> None:
    import attr._make

    original = attr._make._compile_and_eval
    with attrs_cache.reusing_compiled_methods(tmp_path) as use:
        assert attr._make._compile_and_eval is not original
        made = _define_class("Made")
    assert attr._make._compile_and_eval is original  # put back on leaving
    assert use.off == "" and use.compiled >= 1
    assert made(3) == made(3) and repr(made(3)) == "Made(value=3)"


def test_the_original_is_put_back_when_the_block_raises(tmp_path: Path) -> None:
    import attr._make

    original = attr._make._compile_and_eval
    with pytest.raises(RuntimeError), attrs_cache.reusing_compiled_methods(tmp_path):
        raise RuntimeError("an import failed")
    assert attr._make._compile_and_eval is original


def test_a_corrupt_file_means_a_plain_start_and_a_good_file_after(tmp_path: Path) -> None:
    path = attrs_cache.cache_file(tmp_path)
    path.write_bytes(b"\x00not marshal at all")
    with attrs_cache.reusing_compiled_methods(tmp_path) as use:
        made = _define_class("AfterCorrupt")
    assert made(1).value == 1
    assert use.reused == 0 and use.written
    stored = marshal.loads(path.read_bytes())
    assert len(stored) == use.compiled and all(
        isinstance(code, types.CodeType) for code in stored.values()
    )


def test_a_file_too_large_to_be_ours_is_not_read(tmp_path: Path) -> None:
    with attrs_cache.reusing_compiled_methods(tmp_path):
        _define_class("Huge")
    with attrs_cache.reusing_compiled_methods(tmp_path) as use:
        _define_class("Huge")
    assert use.reused >= 1  # the file works as it is...
    path = attrs_cache.cache_file(tmp_path)
    with path.open("ab") as handle:  # ...and with gigabytes after it (sparse: no disk used)
        handle.truncate(attrs_cache.MAX_BYTES + 1)
    with attrs_cache.reusing_compiled_methods(tmp_path) as use:
        _define_class("Huge")
    assert use.reused == 0 and use.written
    assert path.stat().st_size < attrs_cache.MAX_BYTES  # replaced by a file of ours


def test_a_file_of_something_else_is_ignored(tmp_path: Path) -> None:
    attrs_cache.cache_file(tmp_path).write_bytes(marshal.dumps(["a", "list"]))
    with attrs_cache.reusing_compiled_methods(tmp_path) as use:
        _define_class("AfterList")
    assert use.reused == 0 and use.compiled >= 1


def test_entries_a_start_did_not_use_drop_out(tmp_path: Path) -> None:
    stale = {"0" * 40: compile("x = 1", "<stale>", "exec")}
    attrs_cache.cache_file(tmp_path).write_bytes(marshal.dumps(stale))
    with attrs_cache.reusing_compiled_methods(tmp_path) as use:
        _define_class("Fresh")
    stored = marshal.loads(attrs_cache.cache_file(tmp_path).read_bytes())
    assert "0" * 40 not in stored and len(stored) == use.compiled


def test_an_unwritable_place_means_no_cache_and_no_error(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with attrs_cache.reusing_compiled_methods(blocked / "cache") as use:
        made = _define_class("Unwritable")
    assert made(2).value == 2 and use.compiled >= 1 and use.written is False


def test_an_attrs_without_the_function_leaves_the_cache_off(tmp_path: Path) -> None:
    changed_attrs = types.SimpleNamespace()  # a release where the internal is gone
    with attrs_cache.reusing_compiled_methods(tmp_path, make_module=changed_attrs) as use:
        pass
    assert "attrs changed" in use.off
    assert vars(changed_attrs) == {} and not any(tmp_path.iterdir())

    renamed = types.SimpleNamespace(_compile_and_eval=lambda source, scope: None)
    with attrs_cache.reusing_compiled_methods(tmp_path, make_module=renamed) as use:
        pass
    assert "attrs changed" in use.off


def test_one_file_per_bytecode_format_and_none_without_a_folder() -> None:
    assert sys.implementation.cache_tag in attrs_cache.cache_file(Path("/x")).name
    with attrs_cache.reusing_compiled_methods(None) as use:
        _define_class("Homeless")
    assert "no cache folder" in use.off and use.compiled == 0


def _plant(directory: Path, name: str) -> None:
    """The cache of a class ``name`` with its keys kept and its code replaced by code that
    records that it ran (what someone else able to write the file could do)."""
    with attrs_cache.reusing_compiled_methods(directory):
        _define_class(name)
    path = attrs_cache.cache_file(directory)
    planted = compile("import builtins; builtins.PLANTED_CODE_RAN = True", "<planted>", "exec")
    path.write_bytes(marshal.dumps(dict.fromkeys(marshal.loads(path.read_bytes()), planted)))


@pytest.mark.parametrize("writable", ["folder", "file"])
def test_code_that_others_may_have_written_is_not_run(tmp_path: Path, writable: str) -> None:
    import builtins

    directory = tmp_path / "shared-cache"
    _plant(directory, "Planted")
    (directory if writable == "folder" else attrs_cache.cache_file(directory)).chmod(0o777)
    try:
        with attrs_cache.reusing_compiled_methods(directory) as use:
            made = _define_class("Planted")
        assert not getattr(builtins, "PLANTED_CODE_RAN", False)
    finally:
        vars(builtins).pop("PLANTED_CODE_RAN", None)
    assert made(5).value == 5 and use.reused == 0
    if writable == "folder":  # the cache is off: attrs compiles as without it
        assert "writable by others" in use.off and not use.written
    else:  # our own folder: the file is replaced by a private one
        assert use.compiled >= 1 and use.written
        assert attrs_cache.cache_file(directory).stat().st_mode & 0o077 == 0


def test_a_start_that_fails_after_reusing_code_leaves_a_plain_start_next(
    tmp_path: Path,
) -> None:
    import builtins

    _plant(tmp_path, "Broken")
    try:
        with pytest.raises(KeyError), attrs_cache.reusing_compiled_methods(tmp_path) as use:
            _define_class("Broken")  # the planted code defines no methods: attrs fails
    finally:
        vars(builtins).pop("PLANTED_CODE_RAN", None)
    assert use.reused >= 1
    assert not attrs_cache.cache_file(tmp_path).exists()
    with attrs_cache.reusing_compiled_methods(tmp_path) as use:
        made = _define_class("Broken")
    assert made(1).value == 1 and use.reused == 0


#: Under the cache: lsprotocol's classes, and a frozen class, whose ``__hash__`` script holds
#: a salted ``str`` hash (a new script at each start, as cattrs's ``AttributeOverride``).
_SALTED = """
import json, sys
from pathlib import Path
import attrs
from codestral_ls import attrs_cache
with attrs_cache.reusing_compiled_methods(Path(sys.argv[1])) as use:
    from lsprotocol import types
    Salted = attrs.frozen(type("Salted", (), {"__annotations__": {"value": "int"}}))
assert hash(Salted(1)) == hash(Salted(1)) and Salted(1) != Salted(2)
print(json.dumps({"reused": use.reused, "compiled": use.compiled, "written": use.written}))
"""


def test_a_script_new_at_every_start_does_not_rewrite_the_file(tmp_path: Path) -> None:
    runs = []
    for seed in ("1", "2", "3"):
        run = subprocess.run(
            [sys.executable, "-c", _SALTED, str(tmp_path)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            timeout=120,
        )
        runs.append(json.loads(run.stdout))
    first, second, third = runs
    assert first["written"] and first["compiled"] > 500
    for later in (second, third):
        assert later["compiled"] == 1  # the salted script, compiled as without the cache
        assert later["reused"] == first["compiled"] - 1
        assert later["written"] is False  # not 1.2 MB rewritten at every start for it


def test_what_else_enters_linecache_meanwhile_is_kept(tmp_path: Path) -> None:
    import linecache

    real = linecache.cache
    source = tmp_path / "module.py"
    source.write_text("first = 1\nsecond = 2\n")
    with attrs_cache.generated_source_not_kept():
        cls = _define_class("Kept")
        assert linecache.getline(str(source), 2) == "second = 2\n"  # a traceback's lines
    assert linecache.cache is real
    assert str(source) in real
    assert not [key for key in real if "Kept" in str(key)]
    assert cls(value=3).value == 3
