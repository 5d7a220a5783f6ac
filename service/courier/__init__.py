"""The courier side of the server: bundles out, signed outboxes in, for each coalition."""
