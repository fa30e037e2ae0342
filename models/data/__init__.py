"""Training and evaluation data: SR image folders with their degradations, CIFAR-100 and image-folder classes."""
