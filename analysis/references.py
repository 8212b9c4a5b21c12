"""External reference values drawn on the figures, each with its source.

These are what the model is compared with, not inputs to it (the model's own inputs are in
``abm/calibration/``); see ``CALIBRATION.md`` in the project's shared notes.
"""

from __future__ import annotations

# 2023 US Merger Guidelines: a market with HHI above 1,800 is "highly concentrated".
MERGER_GUIDELINES_HHI = 1800.0

# Price decline at constant capability, as a factor per year.
EPOCH_DECLINE = {"central": 40.0, "low": 9.0, "high": 900.0,
                 "source": "Epoch AI, LLM inference price trends (2025): /40 per year, "
                           "/9 to /900 by benchmark"}
A16Z_DECLINE = {"central": 10.0,
                "source": "a16z, LLMflation (2024): /10 per year ($60 -> $0.06 per M tokens, "
                          "Nov 2021 - Nov 2024)"}

# Data-centre electricity, TWh per year, 2024 and IEA's 2030 base-case projection.
IEA_SOURCE = "IEA, Energy and AI (2025), base case"
IEA_TWH = {
    "United States": {"2024": 183.0, "2030": 426.0},
    "China": {"2024": 102.0, "2030": 277.0},
    "Europe": {"2024": 68.0, "2030": 113.0},
    "Asia-Pacific ex. China": {"2024": 48.0, "2030": 101.0},
    "Rest of world": {"2024": 15.0, "2030": 29.0},
    "World": {"2024": 415.0, "2030": 945.0},
}
# the model's nations (abm/calibration/nations.csv) in IEA's regions; their 2024 values add
# up to IEA's regional totals
IEA_REGIONS = {
    "United States": ("United States",),
    "China": ("China",),
    "Europe": ("European Union", "United Kingdom"),
    "Asia-Pacific ex. China": ("Japan", "South Korea", "Taiwan", "India", "Southeast Asia",
                               "Australia"),
    "Rest of world": ("Gulf States", "Brazil", "Mexico", "Rest of Latin America", "Nigeria",
                      "South Africa", "Rest of Africa", "Canada", "Russia", "Rest of World"),
}

# Inference share of AI compute spend.
INFERENCE_HALF = 0.5
INFERENCE_SEED_CLAIM = {"share": 0.8, "year": 2030,
                        "source": "seed 002: ~80% of AI compute spend on inference by 2030 "
                                  "(secondary sources only: tested, not assumed)"}
