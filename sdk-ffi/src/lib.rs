//! chatwire for Kotlin, Swift and Python (uniffi proc-macros) and for C (`c_api`).
