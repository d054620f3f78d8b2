"""Run every benchmark in turn."""

from . import publish, validate_wheel

validate_wheel.main([64, 1024])
publish.main()
