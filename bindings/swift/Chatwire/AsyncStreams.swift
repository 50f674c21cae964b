// AsyncStream views of chatwire's pulled subscriptions, written once over the generated API.
//
// Guarantees: each stream pulls with `next()` on its own task and yields items in the core's
// order; it finishes when the client closes (the subscription returns nil). Cancelling the
// consuming task, breaking out of `for await`, or dropping the stream cancels the subscription
// at once (`cancel()` wakes a pending `next()`), so no subscriber is left behind. The buffer is
// unbounded, like the core's subscriber channel: a slow consumer is never skipped.
//
// This file is copied next to the generated sources by generate.sh. There is no Swift
// toolchain on the machines chatwire is tested on: it is not compiled by the test command.

extension ChatClient {
    /// Every event from now on, as an `AsyncStream`.
    ///
    /// ```swift
    /// let client = try ChatClient(optionsJson: #"{"dialect":"native","baseUrl":"http://127.0.0.1:8080"}"#)
    /// let events = client.events()          // subscribe first: nothing is missed
    /// let receipt = try await client.send(text: "hello")
    /// for await envelope in events {
    ///     if case .textDelta(_, .append(let text, _)) = envelope.event { print(text, terminator: "") }
    ///     if envelope.isTurnTerminal() { break }
    /// }
    /// print(try await receipt.acked())
    /// await client.shutdown()
    /// ```
    public func events() -> AsyncStream<Envelope> {
        chatwireStream(subscribe())
    }

    /// The connection state after each change, ending with `.closed`.
    public func states() -> AsyncStream<ConnectionState> {
        chatwireStream(watchState())
    }
}

extension Receipt {
    /// This message's delivery statuses (queued, sent, acked or failed), ending at the last one.
    public func statusUpdates() -> AsyncStream<DeliveryStatus> {
        chatwireStream(statuses())
    }
}

/// A subscription the streams above can pull from and cancel.
protocol ChatwirePulled: AnyObject, Sendable {
    associatedtype Item
    func next() async -> Item?
    func cancel()
}

extension EventSubscription: ChatwirePulled {}
extension StateSubscription: ChatwirePulled {}
extension StatusSubscription: ChatwirePulled {}

/// Pulls `subscription` on a task and cancels it when the stream terminates.
func chatwireStream<S: ChatwirePulled>(_ subscription: S) -> AsyncStream<S.Item> {
    AsyncStream { continuation in
        let pump = Task {
            while let item = await subscription.next() {
                continuation.yield(item)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            subscription.cancel()
            pump.cancel()
        }
    }
}
