"""Run every benchmark in turn."""

from . import validate_wheel

validate_wheel.main([64, 1024])
