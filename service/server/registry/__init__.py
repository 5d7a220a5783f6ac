"""The coalition registry: who receives complaints from which country, and their keys."""
