"""``python -m checkmate_opt`` runs the command-line tool."""

from checkmate_opt.cli import entry

entry()
