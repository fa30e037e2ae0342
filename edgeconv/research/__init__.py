"""The research harness: variants x seeds under one budget, verdicts on the study's claims, the results page.

Kept apart from the model definitions and training it drives; the one package under ``edgeconv.models``
that may use ``edgeconv.export`` (it times deploy graphs).
"""
