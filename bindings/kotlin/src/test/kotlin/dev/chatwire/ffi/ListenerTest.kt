// Pushed events from Kotlin (ChatClient.listen with an EventListener, the handle cancels on
// close) and the subscriber count that shows a Flow collector cancelled mid-turn leaves no
// subscription behind.
package dev.chatwire.ffi

import dev.chatwire.core.*
import java.io.BufferedReader
import java.io.InputStreamReader
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ListenerTest {
    private lateinit var mock: Process
    private lateinit var url: String

    @BeforeAll
    fun start() {
        val binary = System.getProperty("chatwire.mock")
        mock = ProcessBuilder(binary, "--port", "0", "--token-delay-ms", "1")
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val line = BufferedReader(InputStreamReader(mock.inputStream)).readLine() ?: ""
        assertTrue(line.startsWith("listening on "), "unexpected first line from $binary: $line")
        url = line.removePrefix("listening on ")
    }

    @AfterAll
    fun stop() {
        mock.destroy()
    }

    private fun options() = """{"dialect":"native","baseUrl":"$url"}"""

    /** Records every envelope; counts down on the first turnCompleted and on the end. */
    private class Collect : EventListener {
        val envelopes = CopyOnWriteArrayList<Envelope>()
        val threads = CopyOnWriteArrayList<String>()
        val turnDone = CountDownLatch(1)
        val ended = CountDownLatch(1)
        override fun onEvent(envelope: Envelope) {
            threads.add(Thread.currentThread().name)
            envelopes.add(envelope)
            if (envelope.event is Event.TurnCompleted) turnDone.countDown()
        }
        override fun onEnd() = ended.countDown()
    }

    @Test
    fun aListenerReceivesTheTurnInOrderThenTheEnd() = runBlocking<Unit> {
        val listener = Collect()
        ChatClient(options()).use { client ->
            val handle = client.listen(listener)
            assertEquals(1U, client.subscriberCount())
            client.send("hello")
            assertTrue(listener.turnDone.await(20, TimeUnit.SECONDS))
            client.shutdown()
            assertTrue(listener.ended.await(20, TimeUnit.SECONDS))
            val seqs = listener.envelopes.map { it.seq }
            assertEquals((1UL..seqs.size.toULong()).toList(), seqs)
            val text = listener.envelopes.filter { it.event is Event.TextDelta }
                .joinToString("") { it.text() ?: "" }
            assertEquals("You said: hello", text)
            assertTrue(listener.threads.all { it != Thread.currentThread().name })
            assertTrue(handle.isFinished())
            assertEquals(0U, client.subscriberCount())
            handle.close()
        }
    }

    @Test
    fun closingTheHandleCancelsTheListener() = runBlocking<Unit> {
        val listener = Collect()
        ChatClient(options()).use { client ->
            client.listen(listener).use { assertEquals(1U, client.subscriberCount()) }
            // The listener thread lets go of its subscription as soon as it sees the cancel.
            withTimeout(5_000) { while (client.subscriberCount() != 0U) delay(10) }
            val events = client.events()
            client.send("hello")
            withTimeout(20_000) { events.first { it.isTurnTerminal() } }
            assertTrue(listener.envelopes.isEmpty())
            assertEquals(1L, listener.ended.count)
        }
    }

    @Test
    fun aFlowCollectorCancelledMidTurnReleasesItsSubscription() = runBlocking<Unit> {
        ChatClient(options()).use { client ->
            assertEquals(0U, client.subscriberCount())
            val events = client.events()
            assertEquals(1U, client.subscriberCount())
            client.send("/long 50")
            val delta = withTimeout(20_000) { events.first { it.event is Event.TextDelta } }
            assertFalse(delta.isTurnTerminal()) // cancelled mid-turn by `first`
            assertEquals(0U, client.subscriberCount())
        }
    }
}
