"""Exact cache keys and typed-ahead reuse."""

from __future__ import annotations

from codestral_ls.cache import CompletionCache, TypedAhead, cache_key
from codestral_ls.fim import FimRequest


def request(prompt: str = "def f(", suffix: str = ")", **fields: object) -> FimRequest:
    return FimRequest(model="codestral-latest", prompt=prompt, suffix=suffix, **fields)  # type: ignore[arg-type]


def test_key_changes_with_everything_that_decides_the_answer() -> None:
    base = cache_key(request(), "single-line", 16)
    assert base == cache_key(request(), "single-line", 16)
    assert base != cache_key(request(suffix="):"), "single-line", 16)
    assert base != cache_key(request(prompt="def g("), "single-line", 16)
    assert base != cache_key(request(max_tokens=5), "single-line", 16)
    assert base != cache_key(request(temperature=0.5), "single-line", 16)
    assert base != cache_key(request(), "multi-line", 16)
    assert base != cache_key(request(), "single-line", 17)
    for field, value in [
        ("model", "codestral-2501"),
        ("min_tokens", 1),
        ("top_p", 0.9),
        ("stop", ("\n",)),
        ("random_seed", 7),
    ]:
        changed = FimRequest(**{**vars(request()), field: value})  # type: ignore[arg-type]
        assert base != cache_key(changed, "single-line", 16), field


def test_key_tells_where_the_prompt_ends_and_the_suffix_begins() -> None:
    one = cache_key(request(prompt="def f(", suffix="x)"), "single-line", 16)
    assert one != cache_key(request(prompt="def f(x", suffix=")"), "single-line", 16)
    assert cache_key(request(prompt="\ud800"), "single-line", 16)  # a lone surrogate keys too


def test_cache_expires_and_stays_bounded() -> None:
    now = [0.0]
    cache = CompletionCache(maxsize=2, ttl=10, clock=lambda: now[0])
    cache.put("a", "1")
    cache.put("b", "")
    assert cache.get("a") == "1"
    assert cache.get("b") == ""  # "no completion" is an answer too
    cache.put("c", "3")
    assert len(cache) == 2
    now[0] = 11
    assert cache.get("c") is None


def test_disabled_cache_stores_nothing() -> None:
    cache = CompletionCache(maxsize=0, ttl=10)
    cache.put("a", "1")
    assert cache.get("a") is None


def test_typed_ahead_serves_the_rest_while_the_user_types_it() -> None:
    memory = TypedAhead()
    memory.remember("doc", "x = comp", ")\n", "ute(a, b")
    assert memory.rest("doc", "x = compu", ")\n") == "te(a, b"
    assert memory.rest("doc", "x = compute(a", ")\n") == ", b"
    assert memory.rest("doc", "x = compx", ")\n") is None  # typed something else
    assert memory.rest("doc", "x = compu", "]\n") is None  # the suffix changed
    assert memory.rest("other", "x = compu", ")\n") is None
    assert memory.rest("doc", "x = compute(a, b", ")\n") is None  # typed it all


def test_typed_ahead_keeps_one_copy_of_a_completion_seen_twice() -> None:
    memory = TypedAhead(per_document=2)
    memory.remember("doc", "a = ", "\n", "one")
    memory.remember("doc", "b = ", "\n", "two")
    memory.remember("doc", "a = ", "\n", "one")  # landed, then shown: still one entry
    memory.remember("doc", "c = ", "\n", "three")
    assert memory.rest("doc", "a = o", "\n") == "ne"
    assert memory.rest("doc", "b = t", "\n") is None  # the oldest was dropped


def test_typed_ahead_matches_the_slow_definition_on_repetitive_text() -> None:
    """The fast search gives what trying every typed length would (property over samples)."""
    import random

    from codestral_ls.cache import _rest_after

    def slow(prompt: str, anchor: str, completion: str) -> str | None:
        for typed in range(1, len(completion)):
            if prompt.endswith(anchor + completion[:typed]) and completion[typed:].strip():
                return completion[typed:]
        return None

    rng = random.Random(1)
    for _ in range(3000):
        alphabet = rng.choice(["ab", "a ", "ab\\n"])
        anchor = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
        completion = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        typed = completion[: rng.randint(0, len(completion))]
        noise = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
        prompt = rng.choice(["", "x", anchor]) + anchor + typed + rng.choice(["", noise])
        assert _rest_after(prompt, anchor, completion) == slow(prompt, anchor, completion), (
            prompt,
            anchor,
            completion,
        )


def test_keys_are_160_bit_digests() -> None:
    key = cache_key(request(), "single-line", 16)
    assert len(key) == 40 and int(key, 16) >= 0


def test_a_cache_of_one_entry_or_a_short_life_still_caches() -> None:
    now = [0.0]
    tiny = CompletionCache(maxsize=1, ttl=0.5, clock=lambda: now[0])
    tiny.put("a", "1")
    assert tiny.get("a") == "1" and len(tiny) == 1
    for disabled in (CompletionCache(maxsize=1, ttl=0), CompletionCache(maxsize=0, ttl=1)):
        disabled.put("a", "1")
        assert disabled.get("a") is None and len(disabled) == 0


def test_typed_ahead_remembers_eight_completions_per_document() -> None:
    memory = TypedAhead()
    for n in range(9):
        memory.remember("doc", f"v{n} = ", "\n", f"value{n}")
    assert memory.rest("doc", "v0 = v", "\n") is None  # the ninth pushed the first out
    assert memory.rest("doc", "v1 = v", "\n") == "alue1"


def test_only_the_last_400_characters_before_the_completion_must_still_match() -> None:
    memory = TypedAhead()
    prompt = "#" * 1000 + "\nx = comp"
    memory.remember("doc", prompt, "\n", "ute()")
    edited_far_above = "!" + prompt[:-401] + "?" + prompt[-400:]
    assert memory.rest("doc", edited_far_above[1:] + "u", "\n") == "te()"
    edited_inside = prompt[:-400] + "?" + prompt[-399:]
    assert memory.rest("doc", edited_inside + "u", "\n") is None


def test_an_empty_completion_is_not_remembered() -> None:
    memory = TypedAhead()
    memory.remember("doc", "x = ", "\n", "")
    memory.remember("doc", "x = ", "\n", "1 + 2")
    memory.forget("doc")
    assert memory.rest("doc", "x = 1", "\n") is None
