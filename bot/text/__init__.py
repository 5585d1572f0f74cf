"""Platform-neutral text: labels, footers and splitting, control characters made visible, the
demo report."""
