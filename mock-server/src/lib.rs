//! chatwire-mock: a backend that speaks every chatwire dialect on one port, runs a deterministic
//! scripted agent, injects faults and records what clients sent.
