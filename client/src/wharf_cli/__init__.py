"""The `wharf` command-line client. Talks HTTP to a wharf server; never imports chalicelib."""
