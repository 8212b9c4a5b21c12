"""Hydra sweeper ``abm_sobol``: one job per row of a sample file (see analysis.sobol_sweeper).

Hydra finds plugins only in the ``hydra_plugins`` namespace package; this directory sits at
the repository root, which is on ``sys.path`` when ``python -m abm`` runs from the checkout
(``analysis.experiments`` also puts it on ``PYTHONPATH`` for the sweeps it launches). The
sweeper class is ``hydra_plugins.abm_sobol_sweeper.sobol_sweeper.SobolSweeper``.
"""
