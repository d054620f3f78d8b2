"""wharf's example reviewer (docs/review.md): reads the review queue, applies rules to an
archive's members, posts verdicts through the admin API like any external reviewer."""
