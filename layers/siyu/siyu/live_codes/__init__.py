"""Live codes: the model, assignment, the scan and its landing page, QR images, admin and API contract."""
