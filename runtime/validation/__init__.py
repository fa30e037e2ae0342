"""The shared validator: the same inputs, one reference, gates; the one SR scorer; reports."""
