// The platform's lifecycle, reported to the session as it happens: the `online`/`offline`
// events of a window or worker, and the document's `visibilitychange`.
//
// Guarantees: no rule lives here. Each event becomes one session command (`online`, `offline`,
// `hidden`, `visible`); what it does (stop trying while offline, reconnect on online, probe the
// link when the page comes back, and treat a timer that fires far too late as a sleep rather
// than a dead link) is the core session's. Where the platform has no such events (Node), nothing
// is watched. The returned function removes every listener.

/**
 * @param {(change: 'online' | 'offline' | 'hidden' | 'visible') => void} report
 * @returns {() => void} stops watching
 */
export function watchLifecycle(report) {
  const target = /** @type {any} */ (globalThis);
  if (typeof target.addEventListener !== 'function') return () => {};
  const doc = target.document;
  const online = () => report('online');
  const offline = () => report('offline');
  const visibility = () => report(doc.visibilityState === 'hidden' ? 'hidden' : 'visible');
  target.addEventListener('online', online);
  target.addEventListener('offline', offline);
  doc?.addEventListener?.('visibilitychange', visibility);
  // The state at construction counts as a change from "online and visible".
  if (target.navigator?.onLine === false) offline();
  if (doc?.visibilityState === 'hidden') visibility();
  return () => {
    target.removeEventListener('online', online);
    target.removeEventListener('offline', offline);
    doc?.removeEventListener?.('visibilitychange', visibility);
  };
}
