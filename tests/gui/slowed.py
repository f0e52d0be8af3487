"""Engine calls made slow on purpose, so that a GUI test can act while their task still runs."""
import time


def slowed(fn, seconds: float = 1.0, when=lambda *args, **kwargs: True):
    """``fn`` that first sleeps ``seconds`` when ``when(*args, **kwargs)`` is true."""
    def slow(*args, **kwargs):
        if when(*args, **kwargs):
            time.sleep(seconds)
        return fn(*args, **kwargs)

    return slow
