"""The channel-agnostic dialog core: a message in, replies out."""
