"""NPS surveys and answers."""
