"""Repository context: code from other files of the workspace, put in front of the FIM prompt.

A model cannot call a function correctly whose signature it has never seen. This package
finds the code the completion at the cursor most likely needs, within a budget of
characters, and hands it to the prompt as comments:

- :mod:`.workspace`: the workspace folders and which of their files may be read
  (``.gitignore``, ``excludeGlobs``, never outside the folders);
- :mod:`.imports`: the imports of a file, resolved to workspace files (Python, JS/TS, Go);
- :mod:`.definitions`: where names are defined, and the signature lines a caller needs;
- :mod:`.index`: a lexical index of the workspace, built in a background thread;
- :mod:`.recent`: the ranges the user edited lately;
- :mod:`.provider`: ranking, deduplication, the budget and the comment block
  (:class:`RepositoryContext`, the one object the server and the engine talk to).
"""

from codestral_ls.context.provider import ContextStats, RepositoryContext, Snippet

__all__ = ["ContextStats", "RepositoryContext", "Snippet"]
