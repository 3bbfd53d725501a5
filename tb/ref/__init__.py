"""Golden reference: documented layouts and models the scoreboards compare against."""
