"""Pure rules: no AWS, no HTTP. Only stdlib, pydantic and packaging."""
