"""What every feature shares and nothing depends on: domain errors, the clock, ids."""
