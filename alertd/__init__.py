"""alertd: population alert and crisis dispatcher."""

__version__ = "0.1.0"
