"""AWS implementations of the domain's ports. Nothing outside this package sees a ClientError."""
