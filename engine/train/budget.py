"""A training time budget: the learning-rate schedule runs on the share of the budget spent, and training
stops before a step (plus the end of epoch that follows: validation, checkpoint; and a fine-tune's closing
validations) would end past it."""

import time


class TimeBudget:
    """`minutes` of training wall time, `spent` seconds of it already used (a resumed run)."""

    def __init__(self, minutes: float, spent: float = 0.0):
        self.seconds = max(0.0, float(minutes) * 60.0)
        self.start = time.monotonic() - spent
        self.step_seconds = 0.0  # running estimate of one training step
        self.epoch_end_seconds = 0.0  # the longest end of epoch seen (validation, checkpoint)
        self.stopped = None  # spent seconds when training ended
        self.closing_validations = 0  # validations after the last epoch (a fine-tune's blends with its start)

    @property
    def active(self) -> bool:
        return self.seconds > 0

    def spent(self) -> float:
        return self.stopped if self.stopped is not None else time.monotonic() - self.start

    def stop(self) -> None:
        """Training is over: the time spent no longer grows (writing the outputs is not training)."""
        self.stopped = self.spent()

    def fraction(self) -> float:
        return min(1.0, self.spent() / self.seconds) if self.active else 0.0

    def left(self) -> float:
        return max(0.0, self.seconds - self.spent())

    def record_step(self, seconds: float) -> None:
        self.step_seconds = seconds if not self.step_seconds else 0.8 * self.step_seconds + 0.2 * seconds

    def record_epoch_end(self, seconds: float) -> None:
        self.epoch_end_seconds = max(self.epoch_end_seconds, seconds)

    def no_time_for_step(self) -> bool:
        """True when one more step, an end of epoch and the closing validations (each reserved as long as the
        longest end of epoch) would end past the budget."""
        reserve = self.epoch_end_seconds * (1 + self.closing_validations)
        return self.active and self.spent() + self.step_seconds + reserve > self.seconds

    def describe_left(self) -> str:
        m, s = divmod(int(round(self.left())), 60)
        return f"{m} min {s:02d} s left"
