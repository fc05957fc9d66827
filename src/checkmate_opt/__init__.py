"""checkmate_opt: optimal tensor rematerialization (Checkmate, MLSys 2020)."""
