"""codestral-ls: Codestral fill-in-the-middle completion and chat for every LSP editor."""

__version__ = "0.1.0"
