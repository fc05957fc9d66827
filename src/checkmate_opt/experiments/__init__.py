"""The paper's experiments as library functions (used by the CLI and the figure scripts)."""
