"""wharf's server code: everything the Lambda runs lives under this package."""
