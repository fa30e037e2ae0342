"""Model definitions and the registry: SR networks (RGB and luma-residual), the classification ResNet, MAC counts."""
