"""twinbot's platform-neutral core: compare a base model with its instruct twin."""
