"""Platform plumbing that every app uses: requests, outages, limits, access, queueing.

No models and no domain rules: annotation/, scoring/ and training/ depend on this app,
never the reverse.
"""
