"""Latency sweeps, per-layer times named by PyTorch module, and the device's facts and state."""
