"""Use cases: each public method is one thing a caller can ask wharf to do."""
