"""HTTP: blueprints, request parsing, and the one table from domain errors to responses."""
