"""What this CPU is: its instruction sets, and which INT8 schemes its kernels compute exactly."""
