"""Benchmarks of codestral-ls (issue 5): ``python -m bench`` prints every figure beside its target.

Not part of the test suite: timings live here, never as assertions in tests. Every figure is
measured in one run against ``tests/fake_mistral.py`` (a real HTTP server on 127.0.0.1), with
the fake key ``test-key``; the real server runs as a subprocess spoken to over LSP (stdio).
"""
