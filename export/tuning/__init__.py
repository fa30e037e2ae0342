"""Measured on this CPU: the shift-lowering tuner (``edgeconv tune``) and the deploy-graph latency the tables report."""
