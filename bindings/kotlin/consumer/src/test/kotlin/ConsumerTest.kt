// An application's view of the chatwire jar: the native library comes from the jar itself
// (no jna.library.path is set), and one turn streams against a chatwire-mock.
import dev.chatwire.ffi.ChatClient
import dev.chatwire.core.Event
import dev.chatwire.core.TextUpdate
import dev.chatwire.ffi.events
import java.io.BufferedReader
import java.io.InputStreamReader
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test

class ConsumerTest {
    @Test
    fun theJarCarriesTheNativeLibraryAndATurnStreams() = runBlocking<Unit> {
        assertNull(System.getProperty("jna.library.path"))
        val mock = ProcessBuilder(System.getProperty("chatwire.mock"), "--port", "0").start()
        try {
            val url = BufferedReader(InputStreamReader(mock.inputStream)).readLine()
                .removePrefix("listening on ")
            ChatClient("""{"dialect":"native","baseUrl":"$url"}""").use { client ->
                val events = client.events()
                client.send("hello")
                val text = withTimeout(20_000) {
                    events.takeWhile { !it.isTurnTerminal() }.toList()
                }.map { it.event }.filterIsInstance<Event.TextDelta>().fold("") { text, delta ->
                    when (val update = delta.update) {
                        is TextUpdate.Append -> text + update.text
                        is TextUpdate.Replace -> update.text
                    }
                }
                assertEquals("You said: hello", text)
            }
        } finally {
            mock.destroy()
        }
    }
}
