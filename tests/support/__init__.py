"""What the tests share: helpers, the emulators of the outside services, the test run's own settings."""
