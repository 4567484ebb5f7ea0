"""``python -m hqnn_core`` runs the ``hqnn`` command line."""

import sys

from hqnn_core.cli import main

sys.exit(main())
