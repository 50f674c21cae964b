// The Kotlin runner of the scenario protocol (tests/scenarios/README.md), on coroutines.
//
// It reads one command a line on stdin, executes it through the public API of the Kotlin
// bindings (ChatClient, withTokenProvider, subscribe / watchState and Receipt.statuses, all
// pulled), and writes one trace line on stdout for every envelope, receipt status change, state
// change and command result. It judges nothing: the orchestrator does
// (`chatwire-scenario run --runner "java -cp ... dev.chatwire.ffi.ScenarioRunnerKt"`).
//
// Guarantees: events and states are subscribed before the init result is written and a
// receipt's statuses before its send result, so nothing is missed; each envelope is written as
// the binding hands it over: the typed Envelope record, written back as the core's canonical
// JSON by its toJson() (so the trace also checks the record crosses both ways losslessly); after close, the end line comes once every event,
// status and state stream has ended. Commands are read by the small JSON reader in
// ScenarioJson.kt (it lives with the tests: the published jar carries no runner). The state
// pump runs on the IO dispatcher: the event pump never suspends while its next event is already
// there, and on the command loop's single thread it would hold the state pump back (a state
// change written after the turn it preceded).
package dev.chatwire.ffi

import dev.chatwire.core.*
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext

fun main() {
    runBlocking { ScenarioRunner(this).run() }
    // JNA's cleaner and the library's runtime threads must not keep the JVM alive.
    exitProcess(0)
}

/** One runner process: one client, its forwarding coroutines, and the trace on stdout. */
class ScenarioRunner(private val scope: CoroutineScope) {
    private var client: ChatClient? = null
    private val jobs = mutableListOf<Job>()

    /** A command the runner itself refuses (no client yet, unknown op). */
    private class Refused(val code: String, message: String) : Exception(message)

    suspend fun run() {
        val input = System.`in`.bufferedReader()
        while (true) {
            val line = withContext(Dispatchers.IO) { input.readLine() } ?: break
            val cmd = try {
                Json.parseObject(line)
            } catch (e: IllegalArgumentException) {
                System.err.println("not a command: ${e.message}: $line")
                continue
            }
            val op = cmd["op"] as? String ?: ""
            val result = StringBuilder("""{"line":"result","id":${Json.write(cmd["id"])},"op":${Json.write(op)}""")
            if (cmd.containsKey("label")) result.append(""","label":${Json.write(cmd["label"])}""")
            try {
                val clientId = execute(op, cmd)
                result.append(""","ok":true""")
                if (clientId != null) result.append(""","clientId":${Json.write(clientId)}""")
            } catch (e: Refused) {
                result.append(""","ok":false,"code":"${e.code}","message":${Json.write(e.message)}""")
            } catch (e: ChatException) {
                result.append(""","ok":false,"code":"${errorCode(e)}","message":${Json.write(e.message)}""")
            }
            write(result.append('}').toString())
            if (op == "close") break
        }
        client?.shutdown()
        // Every stream ends once the client is closed: events and statuses end, the state
        // subscription returns Closed last.
        jobs.joinAll()
        client?.close()
        write("""{"line":"end"}""")
    }

    private suspend fun execute(op: String, cmd: Map<String, Any?>): String? {
        if (op == "init") {
            init(cmd)
            return null
        }
        val client = client ?: throw Refused("INVALID_INPUT", "no init line yet")
        when (op) {
            "send", "sendAudio" -> {
                val receipt = if (op == "send") {
                    client.send(cmd["text"] as? String ?: "")
                } else {
                    val samples = (cmd["samples"] as? Number)?.toInt() ?: 0
                    client.sendAudio(List(samples) { 0.toShort() })
                }
                val clientId = receipt.clientId()
                val statuses = receipt.statuses()
                val label = Json.write(cmd["label"] as? String ?: "")
                jobs += scope.launch {
                    while (true) {
                        val status = statuses.next() ?: break
                        write("""{"line":"status","label":$label,"clientId":${Json.write(clientId)},"status":${status.toJson()}}""")
                    }
                    statuses.close()
                    receipt.close()
                }
                return clientId
            }
            "cancelTurn" -> client.cancelTurn()
            "typing" -> client.typing(cmd["active"] == true)
            "reconnectNow" -> client.reconnectNow()
            "connect" -> client.connect()
            "discard" -> client.discard(cmd["clientId"] as? String ?: "")
            "close" -> client.shutdown()
            else -> throw Refused("INVALID_INPUT", "unknown op \"$op\"")
        }
        return null
    }

    private suspend fun init(cmd: Map<String, Any?>) {
        warmUp()
        val options = Json.write(cmd["options"])
        val tokens = (cmd["tokens"] as? List<*>)?.filterIsInstance<String>().orEmpty()
        val client = if (tokens.isEmpty()) {
            ChatClient(options)
        } else {
            ChatClient.withTokenProvider(options, Tokens(tokens), 0uL)
        }
        // Subscribed before any command runs, so nothing is missed.
        val events = client.subscribe()
        val states = client.watchState()
        write("""{"line":"state","state":${client.state().toJson()}}""")
        jobs += scope.launch {
            while (true) {
                val envelope = events.next() ?: break
                write("""{"line":"envelope","envelope":${envelope.toJson()}}""")
            }
            events.close()
        }
        jobs += scope.launch(Dispatchers.IO) {
            while (true) {
                val state = states.next() ?: break
                write("""{"line":"state","state":${state.toJson()}}""")
            }
            states.close()
        }
        this.client = client
    }

    /**
     * Runs every call path of a scenario once (a send and its statuses, events, states, a call
     * that throws, the JSON of each) on a throwaway client whose server does not exist, before
     * the scenario's client is built, writing nothing. A cold JVM needs hundreds of
     * milliseconds to load and link those paths the first time, which would stretch a
     * scenario's burst of sends past the fault window it is meant to land in.
     */
    private suspend fun warmUp() {
        ChatClient("""{"dialect":"native","baseUrl":"http://127.0.0.1:9"}""").use { spare ->
            val events = spare.subscribe()
            val states = spare.watchState()
            try {
                spare.discard("not-an-id")
            } catch (expected: ChatException.InvalidInput) {
                errorCode(expected) // the error path, exercised on purpose
            }
            val receipt = spare.send("warm-up")
            val statuses = receipt.statuses()
            statuses.next()?.toJson()
            events.next()?.toJson()
            states.next()?.toJson()
            spare.shutdown()
            while (statuses.next() != null) continue
            while (events.next() != null) continue
            while (states.next() != null) continue
            listOf(statuses, receipt, events, states).forEach { it.close() }
        }
    }

    /** Hands out the init line's tokens in order, the last one repeatedly. */
    private class Tokens(private val tokens: List<String>) : TokenProvider {
        private val next = AtomicInteger()

        override suspend fun token(): String = tokens[minOf(next.getAndIncrement(), tokens.size - 1)]
    }

    private fun write(line: String) = synchronized(this) {
        print(line + "\n")
        System.out.flush()
    }
}

/** `ChatException.QueueFull` -> `QUEUE_FULL` (the stable ErrorCode name). */
fun errorCode(e: ChatException): String =
    (e::class.simpleName ?: "Internal").replace(Regex("(?<!^)(?=[A-Z])"), "_").uppercase()

