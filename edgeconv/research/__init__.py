"""The research harness: variants x seeds under one budget, verdicts on the study's claims, the results page.

It sits above both the models it trains (``edgeconv.models``) and the deploy graphs it times
(``edgeconv.export``), below the CLI that starts it.
"""
