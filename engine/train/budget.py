"""A training time budget: the learning-rate schedule runs on the share of the budget spent, and training
stops before a step (plus the validation that follows) would end past it."""

import time


class TimeBudget:
    """`minutes` of training wall time, `spent` seconds of it already used (a resumed run)."""

    def __init__(self, minutes: float, spent: float = 0.0):
        self.seconds = max(0.0, float(minutes) * 60.0)
        self.start = time.monotonic() - spent
        self.step_seconds = 0.0  # running estimate of one training step
        self.validation_seconds = 0.0  # last validation's duration

    @property
    def active(self) -> bool:
        return self.seconds > 0

    def spent(self) -> float:
        return time.monotonic() - self.start

    def fraction(self) -> float:
        return min(1.0, self.spent() / self.seconds) if self.active else 0.0

    def left(self) -> float:
        return max(0.0, self.seconds - self.spent())

    def record_step(self, seconds: float) -> None:
        self.step_seconds = seconds if not self.step_seconds else 0.8 * self.step_seconds + 0.2 * seconds

    def no_time_for_step(self) -> bool:
        """True when one more step and a validation would end past the budget."""
        return self.active and self.spent() + self.step_seconds + self.validation_seconds > self.seconds

    def describe_left(self) -> str:
        m, s = divmod(int(round(self.left())), 60)
        return f"{m} min {s:02d} s left"
