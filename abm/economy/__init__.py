"""Pure economic building blocks of the model (no Mesa): paths, costs, geography, chips."""
