// Typed events from Kotlin: the Envelope record and the Event sealed class generated from the
// Rust core's types, read with `when`; JSON-valued fields as their JSON text; an envelope's
// canonical JSON; and a value that is not JSON refused with an exception instead of dropped.
package dev.chatwire.ffi

import dev.chatwire.core.*
import java.io.BufferedReader
import java.io.InputStreamReader
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventsTest {
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

    @Test
    fun aToolTurnArrivesAsTypedEvents() = runBlocking<Unit> {
        ChatClient("""{"dialect":"native","baseUrl":"$url"}""").use { client ->
            val events = client.events()
            val receipt = client.send("/tool paris")
            val seen = withTimeout(20_000) {
                events.takeWhile { !it.isTurnTerminal() }.toList()
            }
            var tool: Event.ToolStarted? = null
            var text = ""
            val statuses = mutableListOf<DeliveryStatus>()
            for (envelope in seen) {
                when (val event = envelope.event) {
                    is Event.ToolStarted -> tool = event
                    is Event.ToolCompleted -> assertEquals(tool?.toolId, event.toolId)
                    is Event.TextDelta -> when (val update = event.update) {
                        is TextUpdate.Append -> text += update.text
                        is TextUpdate.Replace -> text = update.text
                    }
                    is Event.MessageStatus -> {
                        assertEquals(receipt.clientId(), event.clientId)
                        statuses += event.status
                    }
                    else -> {}
                }
                // The typed record is the same envelope as its canonical JSON.
                assertTrue(envelope.toJson().startsWith("""{"seq":${envelope.seq},"""))
            }
            assertNotNull(tool)
            assertEquals("lookup", tool!!.name)
            assertEquals("""{"query":"paris"}""", tool.args)
            assertEquals("You said: /tool paris", text)
            assertTrue(DeliveryStatus.Acked in statuses, "$statuses")
        }
    }

    @Test
    fun anEnvelopeBuiltInKotlinHasTheCoresJson() {
        val envelope = Envelope(
            seq = 9uL, cursor = null, conversationId = "c-1", turnId = "t-1", messageId = null,
            partId = null, timestampMs = 5uL,
            event = Event.TextDelta(TextChannel.REASONING, TextUpdate.Replace("so far")),
            raw = """{"wire":[1,2]}""",
        )
        assertEquals(
            """{"seq":9,"conversationId":"c-1","turnId":"t-1","timestampMs":5,"event":""" +
                """{"type":"textDelta","channel":"reasoning","update":{"kind":"replace",""" +
                """"text":"so far"}},"raw":{"wire":[1,2]}}""",
            envelope.toJson(),
        )
        assertEquals("so far", envelope.text())
        assertTrue(envelope.copy(event = Event.TurnCancelled).isTurnTerminal())
        val reconnecting = ConnectionState.Reconnecting(2u, java.time.Duration.ofMillis(1873))
        assertEquals("""{"kind":"reconnecting","attempt":2,"delayMs":1873}""", reconnecting.toJson())
    }

    @Test
    fun aJsonFieldThatIsNotJsonIsRefused() {
        val envelope = Envelope(
            seq = 1uL, cursor = null, conversationId = null, turnId = null, messageId = null,
            partId = null, timestampMs = 0uL,
            event = Event.Data(name = "data-x", id = null, data = "{not json"), raw = null,
        )
        val error = assertThrows<dev.chatwire.core.InternalException> { envelope.toJson() }
        assertTrue(error.message!!.contains("serde_json"), error.message)
    }
}
