// The client from Kotlin against a real chatwire-mock process: a turn streamed through a Flow,
// a collector cancelled mid-turn, the StateFlow, typed errors, and a Kotlin token provider.
package dev.chatwire.ffi

import dev.chatwire.core.*
import java.io.BufferedReader
import java.io.InputStreamReader
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatClientTest {
    private lateinit var mock: Process
    private lateinit var url: String
    private lateinit var tokenMock: Process
    private lateinit var tokenUrl: String

    /** Starts chatwire-mock on a free port; its first stdout line names the URL. */
    private fun startMock(vararg args: String): Pair<Process, String> {
        val binary = System.getProperty("chatwire.mock")
        val process = ProcessBuilder(listOf(binary, "--port", "0", "--token-delay-ms", "1") + args)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val line = BufferedReader(InputStreamReader(process.inputStream)).readLine() ?: ""
        assertTrue(line.startsWith("listening on "), "unexpected first line from $binary: $line")
        return process to line.removePrefix("listening on ")
    }

    @BeforeAll
    fun start() {
        startMock().let { (p, u) -> mock = p; url = u }
        startMock("--bearer-token", "t-1").let { (p, u) -> tokenMock = p; tokenUrl = u }
    }

    @AfterAll
    fun stop() {
        mock.destroy()
        tokenMock.destroy()
    }

    // No seed: each client draws its own, so each talks in a conversation of its own.
    private fun options(dialect: String, base: String = url) =
        """{"dialect":"$dialect","baseUrl":"$base"}"""

    /** The reply text of the next turn on [events]. */
    private fun assemble(envelopes: List<Envelope>): String =
        envelopes.map { it.event }.filterIsInstance<Event.TextDelta>().fold("") { text, delta ->
            when (val update = delta.update) {
                is TextUpdate.Append -> text + update.text
                is TextUpdate.Replace -> update.text
            }
        }

    private suspend fun turn(client: ChatClient, message: String): List<Envelope> {
        val events = client.events()
        val receipt = client.send(message)
        val seen = withTimeout(20_000) {
            events.takeWhile { !it.isTurnTerminal() }.toList()
        }
        assertEquals(DeliveryStatus.Acked, receipt.acked())
        assertEquals(36, receipt.clientId().length)
        return seen
    }

    @Test
    fun aTurnStreamsYouSaidHelloOnNative() = runBlocking<Unit> {
        ChatClient(options("native")).use { client ->
            assertEquals("You said: hello", assemble(turn(client, "hello")))
            assertEquals(1UL, client.stats().sent)
            assertEquals(ConnectionState.Ready, client.state())
            client.shutdown()
            assertEquals(ConnectionState.Closed, client.state())
            assertThrows<ChatException.Closed> { runBlocking { client.send("late") } }
        }
    }

    @Test
    fun aTurnStreamsYouSaidHelloOnChatInterfaces() = runBlocking<Unit> {
        ChatClient(options("chat-interfaces")).use { client ->
            assertEquals("You said: hello", assemble(turn(client, "hello")))
        }
    }

    @Test
    fun aCancelledCollectorEndsItsSubscriptionAndTheClientGoesOn() = runBlocking<Unit> {
        ChatClient(options("native")).use { client ->
            val subscription = client.subscribe()
            client.send("/long 50")
            // `first` cancels the collector after one text delta, mid-turn.
            val firstDelta = withTimeout(20_000) {
                subscription.asFlow().first { it.event is Event.TextDelta }
            }
            assertEquals("w1", firstDelta.text()!!.trim())
            // The flow's finally cancelled and freed the subscription.
            assertThrows<IllegalStateException> { runBlocking { subscription.next() } }
            val next = client.events()
            client.send("after")
            // `next` may first see the rest of the long turn; then the reply to "after" streams.
            val after = withTimeout(20_000) {
                next.first { it.event is Event.TextDelta && it.text()!!.contains("after") }
            }
            assertTrue(after.turnId != firstDelta.turnId)
        }
    }

    @Test
    fun theStateFlowFollowsTheConnectionToClosed() = runBlocking<Unit> {
        val client = ChatClient(options("native"))
        val scope = CoroutineScope(Dispatchers.Default)
        try {
            val state = client.stateFlow(scope)
            assertEquals(ConnectionState.Disconnected, state.value)
            client.send("hello")
            withTimeout(20_000) { state.first { it == ConnectionState.Ready } }
            client.shutdown()
            withTimeout(20_000) { state.first { it == ConnectionState.Closed } }
        } finally {
            scope.cancel()
            client.close()
        }
    }

    @Test
    fun badOptionsThrowTypedExceptions() {
        assertThrows<ChatException.InvalidConfig> { ChatClient("not json") }
        assertThrows<ChatException.InvalidConfig> {
            ChatClient("""{"dialect":"native","baseUrl":"http://chat.example.com"}""")
        }
    }

    @Test
    fun aKotlinTokenProviderAuthenticatesTheClient() = runBlocking<Unit> {
        val calls = AtomicInteger()
        val provider = object : TokenProvider {
            override suspend fun token(): String {
                calls.incrementAndGet()
                return "t-1"
            }
        }
        ChatClient.withTokenProvider(options("native", tokenUrl), provider, 5_000UL).use { client ->
            assertEquals("You said: hello", assemble(turn(client, "hello")))
        }
        assertEquals(1, calls.get())
    }

    @Test
    fun aThousandClientsLeaveTheThreadCountFlat() = runBlocking<Unit> {
        fun threads() = java.io.File("/proc/self/task").list()!!.size
        fun rssKb() = java.io.File("/proc/self/status").readLines()
            .first { it.startsWith("VmRSS") }.split(Regex("\\s+"))[1].toLong()
        suspend fun oneClient() {
            ChatClient(options("native")).use { client ->
                val events = client.events()
                client.send("hi")
                withTimeout(20_000) { events.first { it.isTurnTerminal() } }
                client.shutdown()
            }
        }
        repeat(20) { oneClient() } // the library's runtime and the JVM's lazy threads start
        System.gc()
        val (threads0, rss0) = threads() to rssKb()
        repeat(1000) { oneClient() }
        System.gc()
        val (threads1, rss1) = threads() to rssKb()
        // A second thousand: the first one took the Java heap and malloc's per-thread arenas to
        // their working size (see the README); what is left per client shows here.
        repeat(1000) { oneClient() }
        System.gc()
        val (threads2, rss2) = threads() to rssKb()
        println("1000 clients, one turn each: threads $threads0 -> $threads1, RSS $rss0 -> $rss1 KiB; " +
            "1000 more: threads $threads1 -> $threads2, RSS $rss1 -> $rss2 KiB")
        // Each client's tasks run on the library's two shared threads: none is left per client.
        // (A JVM may start a service thread of its own meanwhile, hence the slack of one.)
        assertTrue(threads1 <= threads0 + 1, "threads grew from $threads0 to $threads1")
        assertTrue(threads2 <= threads1 + 1, "threads grew from $threads1 to $threads2")
    }
}
