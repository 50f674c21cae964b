// Walking-skeleton tests of the Kotlin bindings: each call crosses JNA into libchatwire_ffi and
// into the Rust core, so a broken build, loader path, generated code or export fails here.
package dev.chatwire.ffi

import kotlin.coroutines.Continuation
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class ChatwireFfiTest {
    @Test
    fun versionComesFromTheCore() {
        val expected = System.getProperty("chatwire.expectedVersion")
        assertTrue(expected != null && expected.isNotEmpty(), "chatwire.expectedVersion not set")
        assertEquals(expected, version())
    }

    @Test
    fun asyncDelayFollowsTheDefaultPolicy() = runBlocking {
        // base 1 s doubling, unit 0.5 = no jitter: attempt 3 -> 4 s; the rate limit floor 5 s is
        // jittered upwards only (5.5 s), the restart ceiling 2 s downwards only (1.8 s).
        assertEquals(4000UL, backoffDelayMs(3u, 0.5, RetryContext.OTHER))
        assertEquals(5500UL, backoffDelayMs(1u, 0.5, RetryContext.RATE_LIMITED))
        assertEquals(1800UL, backoffDelayMs(10u, 0.5, RetryContext.SERVER_RESTART))
    }

    @Test
    fun backoffDelayMsIsASuspendFunction() {
        // A suspend fun compiles to a JVM method taking a trailing Continuation; this fails if
        // the Rust side stops being async (the name is mangled because of the UInt parameter).
        val method = Class.forName("dev.chatwire.ffi.Chatwire_ffiKt").methods
            .single { it.name.startsWith("backoffDelayMs") }
        assertEquals(Continuation::class.java, method.parameterTypes.last())
    }

    @Test
    fun asyncDelayRejectsNaNWithATypedError() {
        val e = assertThrows<ChatException.InvalidInput> {
            runBlocking { backoffDelayMs(1u, Double.NaN, RetryContext.OTHER) }
        }
        assertEquals("unit must be a finite number in [0, 1], got NaN", e.message)
    }

    @Test
    fun scheduleObjectComputesCappedDelays() {
        BackoffSchedule(100UL, 1000UL, 0.0).use { s ->
            assertEquals(100UL, s.delayMs(1u, 0.5))
            assertEquals(400UL, s.delayMs(3u, 0.5))
            assertEquals(1000UL, s.delayMs(30u, 0.5))
            assertThrows<ChatException.InvalidInput> { s.delayMs(1u, 2.0) }
        }
    }

    @Test
    fun scheduleConstructorRejectsZeroCap() {
        val e = assertThrows<ChatException.InvalidInput> { BackoffSchedule(100UL, 0UL, 0.2) }
        assertEquals("cap_ms must be greater than 0", e.message)
    }
}
