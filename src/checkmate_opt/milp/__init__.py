"""The Checkmate MILP: one Pyomo AbstractModel, its instances, and reading solutions.

``checkmate_opt.milp.accounting`` is pure numpy (the MILP's own memory accounting, used for
warm starts and the brute-force reference); ``formulation`` and ``extract`` import Pyomo, so
they are imported only when a MILP is built.
"""
