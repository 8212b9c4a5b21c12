"""Paper figures, experiments and notebooks on top of the model (see README, "Figures and
notebooks"): ``python -m analysis.figures`` builds every figure."""
