"""The web layer: HTTP plumbing shared by the public and staff sites."""
