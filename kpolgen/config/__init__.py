"""Configuration: load with positions, apply ``--set``, validate, build the typed model."""
