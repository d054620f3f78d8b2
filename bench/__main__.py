"""Run every benchmark in turn."""

from . import (
    installs,
    package,
    pages,
    publish,
    request_cpu,
    small_releases,
    upload,
    validate_hostile,
    validate_wheel,
)

validate_wheel.main([64, 1024])
validate_hostile.main()
publish.main()
request_cpu.main([])
installs.main([])
upload.main([])
small_releases.main([])
package.main([])
pages.main([])
