"""``python -m checkmate_opt`` runs the command-line tool."""

import sys

from checkmate_opt.cli import main

sys.exit(main())
