"""``python -m codestral_ls`` runs the server, like the ``codestral-ls`` command."""

import sys

from codestral_ls.cli import main

sys.exit(main())
