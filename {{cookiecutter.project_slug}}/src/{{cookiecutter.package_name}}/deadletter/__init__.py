"""The dead-letter side of the service: what happens to a task that can't succeed."""
