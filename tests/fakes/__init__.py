"""In-memory fakes of the feature repositories (same conditions as the real ones), for service tests."""
