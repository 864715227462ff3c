"""The error a pipeline step raises for a reason the user can act on.

It lives apart from the runner so that step modules (``obs_steps``) can raise it without
importing the runner that imports them.
"""


class StepError(RuntimeError):
    """A step failed for a reason the user can act on; the message says which."""
