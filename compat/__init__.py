"""The compatibility run (`make compat`): real releases from PyPI published to a local wharf.

Not shipped in the Lambda and not part of `make test` (it needs the registry); see
docs/compat.md.
"""
