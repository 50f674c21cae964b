"""Walking-skeleton tests of the Python bindings.

Every call goes through ctypes into libchatwire_ffi and the Rust core, so a broken build,
generated module, library path or export makes these fail.
"""

import asyncio
import math
import os

import pytest

import chatwire
from chatwire import BackoffSchedule, ChatError, RetryContext, backoff_delay_ms


def test_version_comes_from_the_core():
    expected = os.environ.get("CHATWIRE_EXPECTED_VERSION")
    assert expected, "CHATWIRE_EXPECTED_VERSION is not set"
    assert chatwire.version() == expected


def test_async_delay_follows_the_default_policy():
    async def run():
        return [
            await backoff_delay_ms(3, 0.5, RetryContext.OTHER),
            await backoff_delay_ms(1, 0.5, RetryContext.RATE_LIMITED),
            await backoff_delay_ms(10, 0.5, RetryContext.SERVER_RESTART),
        ]

    # the rate limit floor is jittered upwards only, the restart ceiling downwards only
    assert asyncio.run(run()) == [4000, 5500, 1800]


def test_async_delay_rejects_nan_with_a_typed_error():
    with pytest.raises(ChatError.InvalidInput) as info:
        asyncio.run(backoff_delay_ms(1, math.nan, RetryContext.OTHER))
    assert str(info.value) == "unit must be a finite number in [0, 1], got NaN"
    assert isinstance(info.value, ChatError)


def test_schedule_object_computes_capped_delays():
    schedule = BackoffSchedule(100, 1000, 0.0)
    assert schedule.delay_ms(1, 0.5) == 100
    assert schedule.delay_ms(3, 0.5) == 400
    assert schedule.delay_ms(30, 0.5) == 1000
    with pytest.raises(ChatError.InvalidInput):
        schedule.delay_ms(1, 2.0)


def test_schedule_constructor_rejects_zero_cap():
    with pytest.raises(ChatError.InvalidInput) as info:
        BackoffSchedule(100, 0, 0.2)
    assert str(info.value) == "cap_ms must be greater than 0"
