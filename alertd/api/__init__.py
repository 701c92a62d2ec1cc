"""The HTTP side of ``alertd serve``: the API (issue 15), health and metrics."""
