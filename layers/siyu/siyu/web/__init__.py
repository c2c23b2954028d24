"""Request and response helpers light enough for the scan path: visitor cookie, user agent, bodies."""
