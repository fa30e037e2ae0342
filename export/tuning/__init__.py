"""Measured on this CPU: the shift-lowering tuner (``edgeconv tune``), export's default target back end
(``backend_pick``: each installed back end's form timed) and the deploy-graph latency the tables report."""
