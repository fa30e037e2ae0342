"""INT8 and FP16 artifacts: calibration, schemes per target, budget, sensitivity, the one writer."""
