"""Run every benchmark in turn."""

from . import installs, publish, validate_wheel

validate_wheel.main([64, 1024])
publish.main()
installs.main([])
