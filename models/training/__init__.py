"""Training: the loop SR and classification share (seeding, schedule, budget, DDP, saving) and each task's run."""
