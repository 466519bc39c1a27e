"""`python -m scoring evaluate`: accuracy on HPD v2 test data (written below)."""
