"""groundswell: crisis-response alerting for communications teams."""

__version__ = "0.1.0"
