"""The ninety-day simulation (issue 14): scenario, actors, driver (engine), checks."""
