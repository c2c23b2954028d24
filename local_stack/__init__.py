"""Local tooling: runs the SAM template's stack on a laptop (emulated AWS, local API, schedules).

Never imported by functions/ or layers/: the handlers only ever see an endpoint override.
"""
