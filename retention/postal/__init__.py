"""Letter templates, queued letters and print batches for the mail room."""
