"""Training: the loop (loop.train, in small steps), sampled training tiles, augmentation, losses, the time
budget, label alignment and review of free labels, and the HTML training report."""
