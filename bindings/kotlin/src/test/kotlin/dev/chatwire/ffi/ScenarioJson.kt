// A small JSON reader and writer for the scenario runner (ScenarioRunner.kt): the commands are
// one JSON object a line, and the client options inside them go back out as JSON text.
//
// Guarantees: `parseObject` accepts exactly one JSON object (anything else throws
// IllegalArgumentException with the offset) and maps it to Map / List / String / Long / Double
// / Boolean / null, keeping key order; `write` produces valid JSON for those types, escaping
// every control character, so a value read and written again is the same JSON.
package dev.chatwire.ffi

object Json {
    /** Parses one JSON object. */
    fun parseObject(text: String): Map<String, Any?> {
        val reader = Reader(text)
        val value = reader.value(0)
        reader.end()
        @Suppress("UNCHECKED_CAST")
        return value as? Map<String, Any?> ?: throw IllegalArgumentException("not a JSON object")
    }

    /** [value] as JSON text. */
    fun write(value: Any?): String = StringBuilder().also { write(it, value) }.toString()

    private fun write(out: StringBuilder, value: Any?) {
        when (value) {
            null -> out.append("null")
            is String -> {
                out.append('"')
                for (c in value) {
                    when {
                        c == '"' || c == '\\' -> out.append('\\').append(c)
                        c < ' ' -> out.append(String.format("\\u%04x", c.code))
                        else -> out.append(c)
                    }
                }
                out.append('"')
            }
            is Map<*, *> -> {
                out.append('{')
                value.entries.forEachIndexed { i, (k, v) ->
                    if (i > 0) out.append(',')
                    write(out, k.toString())
                    out.append(':')
                    write(out, v)
                }
                out.append('}')
            }
            is List<*> -> {
                out.append('[')
                value.forEachIndexed { i, v ->
                    if (i > 0) out.append(',')
                    write(out, v)
                }
                out.append(']')
            }
            is Double -> out.append(if (value.isFinite()) value.toString() else "null")
            else -> out.append(value.toString())
        }
    }

    private class Reader(private val s: String) {
        private var i = 0

        fun end() {
            ws()
            if (i != s.length) fail("trailing text")
        }

        fun value(depth: Int): Any? {
            if (depth > 64) fail("nested too deeply")
            ws()
            if (i >= s.length) fail("unexpected end")
            return when (s[i]) {
                '{' -> obj(depth)
                '[' -> array(depth)
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> number()
            }
        }

        private fun obj(depth: Int): Map<String, Any?> {
            val map = LinkedHashMap<String, Any?>()
            i++
            ws()
            if (peek() == '}') return map.also { i++ }
            while (true) {
                ws()
                if (peek() != '"') fail("expected a key")
                val key = string()
                ws()
                expect(':')
                map[key] = value(depth + 1)
                ws()
                if (peek() == '}') return map.also { i++ }
                expect(',')
            }
        }

        private fun array(depth: Int): List<Any?> {
            val list = ArrayList<Any?>()
            i++
            ws()
            if (peek() == ']') return list.also { i++ }
            while (true) {
                list += value(depth + 1)
                ws()
                if (peek() == ']') return list.also { i++ }
                expect(',')
            }
        }

        private fun string(): String {
            val out = StringBuilder()
            i++
            while (true) {
                val c = peek() ?: fail("unterminated string")
                i++
                when (c) {
                    '"' -> return out.toString()
                    '\\' -> {
                        val e = peek() ?: fail("unterminated escape")
                        i++
                        when (e) {
                            'n' -> out.append('\n')
                            't' -> out.append('\t')
                            'r' -> out.append('\r')
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000C')
                            'u' -> {
                                if (i + 4 > s.length) fail("short \\u escape")
                                val code = s.substring(i, i + 4).toIntOrNull(16) ?: fail("bad \\u escape")
                                out.append(code.toChar())
                                i += 4
                            }
                            '"', '\\', '/' -> out.append(e)
                            else -> fail("bad escape")
                        }
                    }
                    else -> out.append(c)
                }
            }
        }

        private fun number(): Any {
            val start = i
            while (i < s.length && s[i] in "+-.0123456789eE") i++
            val text = s.substring(start, i)
            return text.toLongOrNull() ?: text.toDoubleOrNull() ?: fail("expected a value")
        }

        private fun literal(word: String, value: Any?): Any? {
            if (!s.startsWith(word, i)) fail("expected $word")
            i += word.length
            return value
        }

        private fun ws() {
            while (i < s.length && s[i] in " \t\r\n") i++
        }

        private fun peek(): Char? = if (i < s.length) s[i] else null

        private fun expect(c: Char) {
            if (peek() != c) fail("expected '$c'")
            i++
        }

        private fun fail(why: String): Nothing = throw IllegalArgumentException("$why at offset $i")
    }
}
