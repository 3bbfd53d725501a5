"""Guest network stack and applications."""
